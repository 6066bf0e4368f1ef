package quota

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// paymentsUsage puts 15 pods in the payments tree: payments 1, api 2,
// api-v1 4, web 8, and 3 high-priority pods in api-v1.
func paymentsUsage(t testing.TB) Usage {
	return Usage{
		{Namespace: "payments"}:                    rl(t, "pods=1"),
		{Namespace: "api"}:                         rl(t, "pods=2"),
		{Namespace: "api-v1"}:                      rl(t, "pods=4"),
		{Namespace: "web"}:                         rl(t, "pods=8"),
		{Namespace: "api-v1", Scope: highPriority}: rl(t, "pods=3"),
	}
}

func TestDecideMove(t *testing.T) {
	hq := func(ns, name, hard string, allocations map[string]string) Quota {
		q := Quota{Kind: KindHierarchicalQuota, Namespace: ns, Name: name, Hard: rl(t, hard), Allocations: map[string]corev1.ResourceList{}}
		for k, v := range allocations {
			q.Allocations[k] = rl(t, v)
		}
		return q
	}
	scoped := func(q Quota) Quota { q.ScopeKey = highPriority; return q }
	// other, a tree of its own, holds "mover" with 3 pods, 2 of them high
	// priority.
	mover := Moved{Root: "mover", Tree: Tree{"mover": ""}, Usage: Usage{
		{Namespace: "mover"}: rl(t, "pods=3"), {Namespace: "mover", Scope: highPriority}: rl(t, "pods=2"),
	}}
	tests := []struct {
		name   string
		quotas []Quota
		// move is the namespace moved within payments; "" moves mover in.
		move, parent string
		usage        Usage
		want         string
	}{
		{name: "into a tree with room", quotas: []Quota{hrq("payments", "q", "pods=18", t)}, parent: "web"},
		{name: "into a tree without room", quotas: []Quota{hrq("payments", "q", "pods=17", t)}, parent: "web",
			want: `moving namespace "mover" under "web" would exceed HierarchicalResourceQuota "q" in namespace "payments": subtree: used pods=18, limited pods=17`},
		{name: "the nearest quota too", quotas: []Quota{hrq("payments", "q", "pods=100", t), hrq("web", "w", "pods=10", t)}, parent: "web",
			want: `HierarchicalResourceQuota "w" in namespace "web": subtree: used pods=11, limited pods=10`},
		{name: "a quota beside the new parent does not count", quotas: []Quota{hrq("payments", "q", "pods=100", t), hrq("web", "w", "pods=10", t)}, parent: "batch"},
		{name: "within the tree, under a common quota", quotas: []Quota{hrq("payments", "q", "pods=15", t)}, move: "api-v1", parent: "web"},
		{name: "within the tree, into a full branch", quotas: []Quota{hrq("payments", "q", "pods=15", t), hrq("web", "w", "pods=11", t)}, move: "api-v1", parent: "web",
			want: `moving namespace "api-v1" under "web" would exceed HierarchicalResourceQuota "w" in namespace "web": subtree: used pods=12, limited pods=11`},
		{name: "within the tree, its own quota moves with it", quotas: []Quota{hrq("api-v1", "own", "pods=4", t), hrq("web", "w", "pods=12", t)}, move: "api", parent: "web",
			want: `"w" in namespace "web": subtree: used pods=14`},
		{name: "a quota over its limit before is not made worse", quotas: []Quota{hrq("payments", "q", "pods=10", t)}, move: "api", parent: "web"},
		{name: "a quota over its limit before is not made worse, from outside", quotas: []Quota{hrq("payments", "q", "pods=10", t)}, parent: "web",
			want: `subtree: used pods=18, limited pods=10`},
		{name: "into an allocation without room", quotas: []Quota{hq("payments", "q", "pods=40", map[string]string{"web": "pods=9"})}, move: "api-v1", parent: "web",
			want: `HierarchicalQuota "q" in namespace "payments": allocation for subtree "web": used pods=12, limited pods=9`},
		{name: "out of an allocation into a full remainder", quotas: []Quota{hq("payments", "q", "pods=20", map[string]string{"api": "pods=10"})}, move: "api-v1", parent: "payments",
			want: `share outside allocations: used pods=13, limited pods=10`},
		{name: "out of an allocation into a remainder with room", quotas: []Quota{hq("payments", "q", "pods=23", map[string]string{"api": "pods=10"})}, move: "api-v1", parent: "payments"},
		{name: "a scoped quota counts its scope only", quotas: []Quota{scoped(hrq("payments", "hi", "pods=5", t))}, parent: "web"},
		{name: "a scoped quota without room", quotas: []Quota{scoped(hrq("payments", "hi", "pods=4", t))}, parent: "web",
			want: `(scope` + ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			usage := paymentsUsage(t)
			s := NewSnapshot(paymentsTree(), tc.quotas, usage)
			m := mover
			if tc.move != "" {
				m = s.Subtree(tc.move)
			}
			err := DecideMove(s, m, tc.parent)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("DecideMove: %v, want nil", err)
				}
				return
			}
			var me *MoveError
			if !errors.As(err, &me) {
				t.Fatalf("DecideMove: %v, want a *MoveError containing %q", err, tc.want)
			}
			if tc.want != "(scope" && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecideMove: %q, want it to contain %q", err, tc.want)
			}
			if tc.want == "(scope" && me.Quota.ScopeKey != highPriority {
				t.Fatalf("DecideMove: %v, want the scoped quota", err)
			}
		})
	}
}

func TestSubtreeAndNames(t *testing.T) {
	own := hrq("api-v1", "own", "pods=4", t)
	top := Quota{Kind: KindHierarchicalQuota, Namespace: "payments", Name: "q", Hard: rl(t, "cpu=4"),
		Allocations: map[string]corev1.ResourceList{"web": rl(t, "memory=1Gi")}}
	hi := hrq("api", "hi", "pods=9", t)
	hi.ScopeKey = highPriority
	s := NewSnapshot(paymentsTree(), []Quota{own, top, hi}, paymentsUsage(t))
	m := s.Subtree("api")
	if len(m.Tree) != 2 || m.Tree["api"] != "payments" || m.Tree["api-v1"] != "api" {
		t.Errorf("Subtree(api).Tree = %v, want api and api-v1", m.Tree)
	}
	if len(m.Quotas) != 2 {
		t.Errorf("Subtree(api).Quotas = %v, want own and hi", m.Quotas)
	}
	if len(m.Usage) != 3 || String(m.Usage[Key{Namespace: "api-v1", Scope: highPriority}]) != "pods=3" {
		t.Errorf("Subtree(api).Usage = %v, want api, api-v1 and api-v1's high-priority pods", m.Usage)
	}
	names := Names([]Quota{top, hi}) // the quotas on api and its ancestors
	if got := strings.Join(names[""], ","); got != "requests.cpu,requests.memory" {
		t.Errorf(`Names(top, hi)[""] = %q, want requests.cpu,requests.memory`, got)
	}
	if got := strings.Join(names[highPriority], ","); got != "pods" {
		t.Errorf("Names(top, hi)[high] = %q, want pods", got)
	}
	if got := Names(nil); len(got) != 0 {
		t.Errorf("Names(nil) = %v, want none", got)
	}
}
