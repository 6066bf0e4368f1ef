package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestValidateHierarchicalQuota(t *testing.T) {
	parent := delegated(t) // payments: cpu=40,pods=50; api 20, batch 10
	rootHRQ := hrq("payments", "ceiling", "pods=30", t)
	hq := func(ns, hard string, allocs map[string]string) Quota {
		q := Quota{Kind: KindHierarchicalQuota, Namespace: ns, Name: "cand", Hard: rl(t, hard)}
		for k, v := range allocs {
			if q.Allocations == nil {
				q.Allocations = map[string]corev1.ResourceList{}
			}
			q.Allocations[k] = rl(t, v)
		}
		return q
	}
	tests := []struct {
		name      string
		existing  []Quota
		candidate Quota
		wantErrs  []string
		wantWarns []string
	}{
		{
			name:      "the 40/20/10 budget is valid",
			candidate: parent,
		},
		{
			name:      "allocations summing past hard",
			candidate: hq("payments", "cpu=40", map[string]string{"api": "cpu=30", "batch": "cpu=15"}),
			wantErrs:  []string{`spec.allocations: Invalid value: "cpu=45": allocations sum to more than spec.hard.cpu=40`},
		},
		{
			name:      "allocation of a resource hard does not name",
			candidate: hq("payments", "cpu=40", map[string]string{"api": "cpu=10,pods=5"}),
			wantErrs:  []string{`spec.allocations[api].pods: Invalid value: "5": allocates a resource that spec.hard does not limit`},
		},
		{
			name:      "allocation to the quota's own namespace",
			candidate: hq("api", "cpu=10", map[string]string{"api": "cpu=1"}),
			wantErrs:  []string{`spec.allocations[api]: Invalid value: "api": an allocation must name a descendant namespace, not the quota's own`},
		},
		{
			name:      "allocation to an existing namespace outside the subtree",
			candidate: hq("api", "cpu=10", map[string]string{"web": "cpu=1", "api-v1": "cpu=1"}),
			wantErrs:  []string{`spec.allocations[web]: Invalid value: "web": namespace "web" is not a descendant of "api"`},
		},
		{
			name:      "allocation to a namespace that does not exist yet is allowed",
			candidate: hq("api", "cpu=10", map[string]string{"api-v2": "cpu=4"}),
		},
		{
			name:      "negative quantities",
			candidate: hq("payments", "cpu=-1", map[string]string{"api": "cpu=-2"}),
			wantErrs: []string{
				`spec.hard.cpu: Invalid value: "-1": must not be negative`,
				`spec.allocations[api].cpu: Invalid value: "-2": must not be negative`,
			},
		},
		{
			name:      "child within its allocation and the ancestor hard",
			existing:  []Quota{parent, rootHRQ},
			candidate: hq("api-v1", "cpu=20,pods=30", nil),
		},
		{
			name:      "child larger than its allocation",
			existing:  []Quota{parent},
			candidate: hq("api", "cpu=25", nil),
			wantErrs:  []string{`spec.hard.cpu: Invalid value: "25": exceeds its allocation spec.allocations[api].cpu=20 of HierarchicalQuota "budget" in namespace "payments"`},
		},
		{
			name:      "grandchild larger than the allocation of its ancestor",
			existing:  []Quota{parent},
			candidate: hq("api-v1", "cpu=21", nil),
			wantErrs:  []string{`spec.hard.cpu: Invalid value: "21": exceeds its allocation spec.allocations[api].cpu=20 of HierarchicalQuota "budget" in namespace "payments"`},
		},
		{
			name:      "child larger than every ancestor hard it shares a resource with",
			existing:  []Quota{parent, rootHRQ},
			candidate: hq("web", "cpu=41,pods=31,count/secrets=100", nil),
			wantErrs: []string{
				`spec.hard.cpu: Invalid value: "41": exceeds spec.hard.cpu=40 of ancestor HierarchicalQuota "budget" in namespace "payments"`,
				`spec.hard.pods: Invalid value: "31": exceeds spec.hard.pods=30 of ancestor HierarchicalResourceQuota "ceiling" in namespace "payments"`,
			},
		},
		{
			name:      "ancestor of another scope does not bind",
			existing:  []Quota{{Kind: KindHierarchicalQuota, Namespace: "payments", Name: "high", Hard: rl(t, "pods=1"), ScopeKey: highPriority}},
			candidate: hq("web", "pods=10", nil),
		},
		{
			name:      "lowering a parent below a child's quota is allowed with a warning",
			existing:  []Quota{hq("api", "cpu=30", nil)},
			candidate: hq("payments", "cpu=20", nil),
			wantWarns: []string{`HierarchicalQuota "cand" in namespace "api" is now larger than this quota allows: spec.hard.cpu: Invalid value: "30": exceeds spec.hard.cpu=20 of ancestor HierarchicalQuota "cand" in namespace "payments"`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSnapshot(paymentsTree(), tc.existing, nil)
			errs, warns := ValidateHierarchicalQuota(s, tc.candidate)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.wantErrs, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWarns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
