package quota

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

const highPriority = "PriorityClass In (high)"

// usageOf builds unscoped usage from "namespace: list" pairs.
func usageOf(t testing.TB, m map[string]string) Usage {
	t.Helper()
	u := Usage{}
	for ns, l := range m {
		u[Key{Namespace: ns}] = rl(t, l)
	}
	return u
}

// delegated is the example: hard cpu=40 on payments, 20 allocated to
// api and 10 to batch, leaving 10 for payments, web and anything else.
func delegated(t testing.TB) Quota {
	return Quota{
		Kind: KindHierarchicalQuota, Namespace: "payments", Name: "budget",
		Hard: rl(t, "cpu=40,pods=50"),
		Allocations: map[string]corev1.ResourceList{
			"api":   rl(t, "cpu=20"),
			"batch": rl(t, "cpu=10"),
		},
	}
}

func TestDecide(t *testing.T) {
	// The delegated budget at its limits: api subtree 20, batch 10, and the
	// remainder (payments 6 + web 4) 10.
	full := map[string]string{
		"payments": "requests.cpu=6", "web": "requests.cpu=4",
		"api": "requests.cpu=15", "api-v1": "requests.cpu=5",
		"batch": "requests.cpu=10",
	}
	tests := []struct {
		name    string
		quotas  []Quota
		usage   Usage
		ns      string
		scope   string
		newUsed string
		want    string
	}{
		{
			name:    "message reads like the API server's",
			quotas:  []Quota{hrq("payments", "team-quota", "pods=100", t)},
			usage:   usageOf(t, map[string]string{"payments": "pods=60", "web": "pods=40"}),
			ns:      "web",
			newUsed: "pods=41",
			want:    `exceeded quota: HierarchicalResourceQuota "team-quota" in namespace "payments", requested: pods=1, used: pods=100, limited: pods=100`,
		},
		{
			name:    "fits under the root quota from a grandchild",
			quotas:  []Quota{hrq("payments", "q", "pods=10", t)},
			usage:   usageOf(t, map[string]string{"payments": "pods=4", "api-v1": "pods=5"}),
			ns:      "api-v1",
			newUsed: "pods=6",
		},
		{
			name:    "grandchild growth counts against the root quota",
			quotas:  []Quota{hrq("payments", "q", "pods=10", t)},
			usage:   usageOf(t, map[string]string{"payments": "pods=4", "api-v1": "pods=5", "web": "pods=1"}),
			ns:      "api-v1",
			newUsed: "pods=6",
			want:    `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=1, used: pods=10, limited: pods=10`,
		},
		{
			name:    "middle quota binds before the root one",
			quotas:  []Quota{hrq("payments", "root", "pods=10", t), hrq("api", "mid", "pods=3", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=1", "api-v1": "pods=2"}),
			ns:      "api-v1",
			newUsed: "pods=3",
			want:    `exceeded quota: HierarchicalResourceQuota "mid" in namespace "api", requested: pods=1, used: pods=3, limited: pods=3`,
		},
		{
			name:    "strictest ancestor wins over a looser child quota",
			quotas:  []Quota{hrq("payments", "parent", "pods=5", t), hrq("api", "child", "pods=10", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=5"}),
			ns:      "api",
			newUsed: "pods=6",
			want:    `exceeded quota: HierarchicalResourceQuota "parent" in namespace "payments", requested: pods=1, used: pods=5, limited: pods=5`,
		},
		{
			name:    "sibling subtree is not counted",
			quotas:  []Quota{hrq("api", "q", "pods=3", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=2", "web": "pods=50"}),
			ns:      "api",
			newUsed: "pods=3",
		},
		{
			name:    "other tree is unaffected",
			quotas:  []Quota{hrq("payments", "q", "pods=1", t)},
			usage:   usageOf(t, map[string]string{"payments": "pods=1"}),
			ns:      "other",
			newUsed: "pods=9",
		},
		{
			name:    "only resources the quota names are limited",
			quotas:  []Quota{hrq("payments", "q", "pods=1", t)},
			usage:   usageOf(t, map[string]string{"payments": "pods=1"}),
			ns:      "payments",
			newUsed: "pods=1,count/configmaps=40",
		},
		{
			name:    "every exceeded resource is listed",
			quotas:  []Quota{hrq("payments", "q", "pods=2,limits.memory=1Gi,requests.cpu=1", t)},
			usage:   usageOf(t, map[string]string{"payments": "pods=2,limits.memory=1Gi"}),
			ns:      "payments",
			newUsed: "pods=3,limits.memory=2Gi,requests.cpu=500m",
			want:    `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: limits.memory=1Gi,pods=1, used: limits.memory=1Gi,pods=2, limited: limits.memory=1Gi,pods=2`,
		},
		{
			name:    "bare cpu means requests.cpu and keeps its name in the message",
			quotas:  []Quota{hrq("payments", "q", "cpu=4", t)},
			usage:   usageOf(t, map[string]string{"web": "requests.cpu=3"}),
			ns:      "payments",
			newUsed: "cpu=2,requests.cpu=2",
			want:    `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: cpu=2, used: cpu=3, limited: cpu=4`,
		},
		{
			name:    "count resources and extended resources",
			quotas:  []Quota{hrq("payments", "q", "count/deployments.apps=2,requests.nvidia.com/gpu=1", t)},
			usage:   usageOf(t, map[string]string{"api": "count/deployments.apps=2"}),
			ns:      "batch",
			newUsed: "requests.nvidia.com/gpu=1,count/deployments.apps=1",
			want:    `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: count/deployments.apps=1, used: count/deployments.apps=2, limited: count/deployments.apps=2`,
		},
		// Delegated budgets: the 40/20/10 example.
		{
			name:    "allocation: api subtree may reach exactly 20",
			quotas:  []Quota{delegated(t)},
			usage:   usageOf(t, map[string]string{"api": "requests.cpu=15", "api-v1": "requests.cpu=4"}),
			ns:      "api-v1",
			newUsed: "requests.cpu=5",
		},
		{
			name:    "allocation: api subtree may not pass 20 even with budget left",
			quotas:  []Quota{delegated(t)},
			usage:   usageOf(t, map[string]string{"api": "requests.cpu=15", "api-v1": "requests.cpu=5"}),
			ns:      "api-v1",
			newUsed: "requests.cpu=6",
			want:    `exceeded quota: HierarchicalQuota "budget" in namespace "payments", allocation for subtree "api", requested: cpu=1, used: cpu=20, limited: cpu=20`,
		},
		{
			name:    "allocation: batch may not pass 10",
			quotas:  []Quota{delegated(t)},
			usage:   usageOf(t, map[string]string{"batch": "requests.cpu=10"}),
			ns:      "batch",
			newUsed: "requests.cpu=10500m",
			want:    `exceeded quota: HierarchicalQuota "budget" in namespace "payments", allocation for subtree "batch", requested: cpu=500m, used: cpu=10, limited: cpu=10`,
		},
		{
			name:    "allocation: web shares the remaining 10 with payments",
			quotas:  []Quota{delegated(t)},
			usage:   usageOf(t, map[string]string{"payments": "requests.cpu=6", "web": "requests.cpu=3", "api": "requests.cpu=1"}),
			ns:      "web",
			newUsed: "requests.cpu=4",
		},
		{
			name:    "allocation: remainder is full even though api and batch are idle",
			quotas:  []Quota{delegated(t)},
			usage:   usageOf(t, map[string]string{"payments": "requests.cpu=6", "web": "requests.cpu=4"}),
			ns:      "payments",
			newUsed: "requests.cpu=7",
			want:    `exceeded quota: HierarchicalQuota "budget" in namespace "payments", share outside allocations, requested: cpu=1, used: cpu=10, limited: cpu=10`,
		},
		{
			name:    "allocation: a full budget still lets api grow within its 20",
			quotas:  []Quota{delegated(t)},
			usage:   usageOf(t, map[string]string{"payments": "requests.cpu=6", "web": "requests.cpu=4", "batch": "requests.cpu=10", "api": "requests.cpu=19"}),
			ns:      "api",
			newUsed: "requests.cpu=20",
		},
		{
			name:    "allocation: every pool full denies each of them",
			quotas:  []Quota{delegated(t)},
			usage:   usageOf(t, full),
			ns:      "web",
			newUsed: "requests.cpu=5",
			want:    `exceeded quota: HierarchicalQuota "budget" in namespace "payments", requested: cpu=1, used: cpu=40, limited: cpu=40`,
		},
		{
			name:    "allocation: unallocated resource of an allocated subtree counts in the remainder",
			quotas:  []Quota{delegated(t)},
			usage:   usageOf(t, map[string]string{"payments": "pods=49"}),
			ns:      "api",
			newUsed: "pods=2",
			want:    `exceeded quota: HierarchicalQuota "budget" in namespace "payments", requested: pods=2, used: pods=49, limited: pods=50`,
		},
		{
			name: "allocation: not-yet-existing subtree is reserved out of hard",
			quotas: []Quota{{
				Kind: KindHierarchicalQuota, Namespace: "payments", Name: "budget",
				Hard:        rl(t, "cpu=40"),
				Allocations: map[string]corev1.ResourceList{"future": rl(t, "cpu=35")},
			}},
			usage:   usageOf(t, map[string]string{"payments": "requests.cpu=5"}),
			ns:      "web",
			newUsed: "requests.cpu=1",
			want:    `exceeded quota: HierarchicalQuota "budget" in namespace "payments", share outside allocations, requested: cpu=1, used: cpu=5, limited: cpu=5`,
		},
		// Over limit after hard was lowered to 5 with 8 in use.
		{
			name:    "over limit: a decrease is admitted",
			quotas:  []Quota{hrq("payments", "q", "pods=5,requests.cpu=10", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=8"}),
			ns:      "api",
			newUsed: "pods=7",
		},
		{
			name:    "over limit: an unchanged total is admitted",
			quotas:  []Quota{hrq("payments", "q", "pods=5", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=8"}),
			ns:      "api",
			newUsed: "pods=8",
		},
		{
			name:    "over limit: an increase is denied",
			quotas:  []Quota{hrq("payments", "q", "pods=5", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=8"}),
			ns:      "web",
			newUsed: "pods=1",
			want:    `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=1, used: pods=8, limited: pods=5`,
		},
		{
			name:    "over limit: a resource that fits may still grow",
			quotas:  []Quota{hrq("payments", "q", "pods=5,requests.cpu=10", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=8,requests.cpu=1"}),
			ns:      "api",
			newUsed: "pods=7,requests.cpu=2",
		},
		// Scopes.
		{
			name: "scoped quota counts only its scope's usage",
			quotas: []Quota{
				{Kind: KindHierarchicalQuota, Namespace: "payments", Name: "high", Hard: rl(t, "pods=2"), ScopeKey: highPriority},
				hrq("payments", "all", "pods=10", t),
			},
			usage: Usage{
				{Namespace: "api", Scope: highPriority}: rl(t, "pods=2"),
				{Namespace: "api"}:                      rl(t, "pods=2"),
			},
			ns:      "api",
			scope:   highPriority,
			newUsed: "pods=3",
			want:    `exceeded quota: HierarchicalQuota "high" in namespace "payments" (scope PriorityClass In (high)), requested: pods=1, used: pods=2, limited: pods=2`,
		},
		{
			name: "unscoped growth ignores the scoped quota",
			quotas: []Quota{
				{Kind: KindHierarchicalQuota, Namespace: "payments", Name: "high", Hard: rl(t, "pods=2"), ScopeKey: highPriority},
				hrq("payments", "all", "pods=10", t),
			},
			usage: Usage{
				{Namespace: "api", Scope: highPriority}: rl(t, "pods=2"),
				{Namespace: "api"}:                      rl(t, "pods=2"),
			},
			ns:      "api",
			newUsed: "pods=3",
		},
		{
			name: "usage of another scope does not count",
			quotas: []Quota{
				{Kind: KindHierarchicalQuota, Namespace: "payments", Name: "high", Hard: rl(t, "pods=2"), ScopeKey: highPriority},
			},
			usage: Usage{
				{Namespace: "api", Scope: "PriorityClass In (low)"}: rl(t, "pods=50"),
				{Namespace: "api"}: rl(t, "pods=50"),
			},
			ns:      "web",
			scope:   highPriority,
			newUsed: "pods=2",
		},
		// Batched status updates: 8 of 10 pods in use.
		{
			name:    "batch: three new pods where two fit is denied as a whole",
			quotas:  []Quota{hrq("payments", "q", "pods=10", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=8"}),
			ns:      "api",
			newUsed: "pods=11",
			want:    `exceeded quota: HierarchicalResourceQuota "q" in namespace "payments", requested: pods=3, used: pods=8, limited: pods=10`,
		},
		{
			name:    "batch: two new pods reaching the limit pass",
			quotas:  []Quota{hrq("payments", "q", "pods=10", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=8"}),
			ns:      "api",
			newUsed: "pods=10",
		},
		{
			name:    "batch: creations and deletions netting within the limit pass",
			quotas:  []Quota{hrq("payments", "q", "pods=10,requests.cpu=4", t)},
			usage:   usageOf(t, map[string]string{"api": "pods=10,requests.cpu=4"}),
			ns:      "api",
			newUsed: "pods=10,requests.cpu=3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(paymentsTree(), tc.quotas, tc.usage)
			err := Decide(s, tc.ns, tc.scope, rl(t, tc.newUsed))
			if diff := cmp.Diff(tc.want, errString(err)); diff != "" {
				t.Errorf("Decide(%s, %s) error (-want +got):\n%s", tc.ns, tc.newUsed, diff)
			}
			var exceeded *ExceededError
			if err != nil && !errors.As(err, &exceeded) {
				t.Errorf("Decide error %T is not an *ExceededError", err)
			}
		})
	}
}

func TestDecideNestedAllocations(t *testing.T) {
	// api holds 20 of 40, api-v1 (inside api) 5 of those; the remainder is
	// 40-20-5=15 and excludes only the outer api subtree.
	q := Quota{
		Kind: KindHierarchicalQuota, Namespace: "payments", Name: "budget",
		Hard:        rl(t, "cpu=40"),
		Allocations: map[string]corev1.ResourceList{"api": rl(t, "cpu=20"), "api-v1": rl(t, "cpu=5")},
	}
	usage := usageOf(t, map[string]string{"api": "requests.cpu=10", "api-v1": "requests.cpu=5", "web": "requests.cpu=14"})
	s := NewSnapshot(paymentsTree(), []Quota{q}, usage)
	tests := []struct {
		ns, newUsed, want string
	}{
		{ns: "api-v1", newUsed: "requests.cpu=6", want: `exceeded quota: HierarchicalQuota "budget" in namespace "payments", allocation for subtree "api-v1", requested: cpu=1, used: cpu=5, limited: cpu=5`},
		{ns: "api", newUsed: "requests.cpu=15"},
		{ns: "api", newUsed: "requests.cpu=16", want: `exceeded quota: HierarchicalQuota "budget" in namespace "payments", allocation for subtree "api", requested: cpu=6, used: cpu=15, limited: cpu=20`},
		{ns: "web", newUsed: "requests.cpu=15"},
		{ns: "web", newUsed: "requests.cpu=16", want: `exceeded quota: HierarchicalQuota "budget" in namespace "payments", share outside allocations, requested: cpu=2, used: cpu=14, limited: cpu=15`},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, errString(Decide(s, tc.ns, "", rl(t, tc.newUsed)))); diff != "" {
			t.Errorf("Decide(%s, %s) (-want +got):\n%s", tc.ns, tc.newUsed, diff)
		}
	}
}
