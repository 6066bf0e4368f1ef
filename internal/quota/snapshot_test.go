package quota

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSubtreeUsage(t *testing.T) {
	usage := Usage{
		{Namespace: "payments"}:                    rl(t, "pods=1,cpu=1"),
		{Namespace: "api"}:                         rl(t, "pods=2"),
		{Namespace: "api-v1"}:                      rl(t, "pods=4,requests.cpu=500m"),
		{Namespace: "web"}:                         rl(t, "pods=8"),
		{Namespace: "other"}:                       rl(t, "pods=100"),
		{Namespace: "api-v1", Scope: highPriority}: rl(t, "pods=3"),
		{Namespace: "gone"}:                        rl(t, "pods=1000"),
	}
	s := NewSnapshot(paymentsTree(), nil, usage)
	tests := []struct {
		ns, scope, want string
	}{
		{ns: "payments", want: "pods=15,requests.cpu=1500m"},
		{ns: "api", want: "pods=6,requests.cpu=500m"},
		{ns: "api-v1", want: "pods=4,requests.cpu=500m"},
		{ns: "batch", want: ""},
		{ns: "other", want: "pods=100"},
		{ns: "gone", want: "pods=1k"},
		{ns: "payments", scope: highPriority, want: "pods=3"},
		{ns: "web", scope: highPriority, want: ""},
	}
	for _, tc := range tests {
		if got := String(SubtreeUsage(s, tc.ns, tc.scope)); got != tc.want {
			t.Errorf("SubtreeUsage(%s, %q) = %q, want %q", tc.ns, tc.scope, got, tc.want)
		}
	}
}

func TestDeepChainTotals(t *testing.T) {
	tree := Tree{}
	usage := Usage{}
	parent := ""
	for i := range 500 {
		ns := "n" + strconv.Itoa(i)
		tree[ns] = parent
		usage[Key{Namespace: ns}] = rl(t, "pods=1")
		parent = ns
	}
	s := NewSnapshot(tree, nil, usage)
	for _, tc := range []struct {
		ns, want string
	}{{"n0", "pods=500"}, {"n250", "pods=250"}, {"n499", "pods=1"}} {
		if got := String(SubtreeUsage(s, tc.ns, "")); got != tc.want {
			t.Errorf("SubtreeUsage(%s) = %q, want %q", tc.ns, got, tc.want)
		}
	}
}

func TestCycleDoesNotHang(t *testing.T) {
	s := NewSnapshot(Tree{"a": "b", "b": "a"}, []Quota{hrq("a", "q", "pods=1", t)}, usageOf(t, map[string]string{"a": "pods=1"}))
	if err := Decide(s, "b", "", rl(t, "pods=1")); err == nil {
		t.Errorf("Decide in a cycle admitted growth past a quota on it")
	}
}

func TestStatusUsedAndSingletonHard(t *testing.T) {
	quotas := []Quota{
		hrq("payments", "root", "cpu=10,pods=20", t),
		hrq("api", "mid", "pods=5,limits.memory=1Gi", t),
		{Kind: KindHierarchicalQuota, Namespace: "payments", Name: "high", Hard: rl(t, "pods=2"), ScopeKey: highPriority},
	}
	usage := usageOf(t, map[string]string{"api-v1": "requests.cpu=3,pods=2", "web": "pods=1,count/secrets=4"})
	s := NewSnapshot(paymentsTree(), quotas, usage)

	if got, want := String(StatusUsed(s, quotas[0])), "cpu=3,pods=3"; got != want {
		t.Errorf("StatusUsed(root) = %q, want %q", got, want)
	}
	if got, want := String(StatusUsed(s, quotas[1])), "limits.memory=0,pods=2"; got != want {
		t.Errorf("StatusUsed(mid) = %q, want %q", got, want)
	}
	tests := []struct {
		ns, scope, want string
	}{
		{ns: "api-v1", want: "cpu=10,limits.memory=1Gi,pods=5"},
		{ns: "web", want: "cpu=10,pods=20"},
		{ns: "web", scope: highPriority, want: "pods=2"},
		{ns: "other", want: ""},
	}
	for _, tc := range tests {
		if got := String(SingletonHard(s, tc.ns, tc.scope)); got != tc.want {
			t.Errorf("SingletonHard(%s, %q) = %q, want %q", tc.ns, tc.scope, got, tc.want)
		}
	}
}

func TestOverLimit(t *testing.T) {
	lowered := delegated(t)
	lowered.Hard = rl(t, "cpu=30,pods=50")
	tests := []struct {
		name  string
		quota Quota
		usage Usage
		want  string
	}{
		{
			name:  "within limits",
			quota: delegated(t),
			usage: usageOf(t, map[string]string{"api": "requests.cpu=20", "batch": "requests.cpu=10", "web": "requests.cpu=10"}),
			want:  "",
		},
		{
			name:  "hard lowered below usage",
			quota: hrq("payments", "q", "pods=5", t),
			usage: usageOf(t, map[string]string{"api": "pods=8"}),
			want:  "subtree: used pods=8, limited pods=5",
		},
		{
			name:  "allocation and remainder over after lowering hard to 30",
			quota: lowered,
			usage: usageOf(t, map[string]string{"api": "requests.cpu=21", "batch": "requests.cpu=2", "web": "requests.cpu=1"}),
			want:  `allocation for subtree "api": used cpu=21, limited cpu=20; share outside allocations: used cpu=1, limited cpu=0`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(paymentsTree(), []Quota{tc.quota}, tc.usage)
			if diff := cmp.Diff(tc.want, FormatOverages(OverLimit(s, tc.quota))); diff != "" {
				t.Errorf("OverLimit (-want +got):\n%s", diff)
			}
		})
	}
}
