package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	hncv1alpha2 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestFromAPI(t *testing.T) {
	meta := metav1.ObjectMeta{Namespace: "payments", Name: "q"}
	h := &hncv1alpha2.HierarchicalResourceQuota{ObjectMeta: meta, Spec: hncv1alpha2.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=3")}}
	hq := &tenancyv1alpha1.HierarchicalQuota{ObjectMeta: meta, Spec: tenancyv1alpha1.HierarchicalQuotaSpec{
		Hard:        rl(t, "cpu=40"),
		Allocations: map[string]corev1.ResourceList{"api": rl(t, "cpu=20")},
		ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}},
		}},
	}}
	tests := []struct {
		name string
		got  Quota
		want Quota
	}{
		{"HierarchicalResourceQuota", FromHRQ(h), Quota{Kind: KindHierarchicalResourceQuota, Namespace: "payments", Name: "q", Hard: rl(t, "pods=3")}},
		{"HierarchicalQuota", FromHierarchicalQuota(hq), Quota{
			Kind: KindHierarchicalQuota, Namespace: "payments", Name: "q", Hard: rl(t, "cpu=40"),
			Allocations: map[string]corev1.ResourceList{"api": rl(t, "cpu=20")}, ScopeKey: highPriority,
		}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.got, quantityEqual); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// The conversion copies: changing the object does not change the Quota.
	q := FromHierarchicalQuota(hq)
	hq.Spec.Allocations["api"][corev1.ResourceCPU] = rl(t, "cpu=1")[corev1.ResourceCPU]
	if got := String(q.Allocations["api"]); got != "cpu=20" {
		t.Errorf("Quota shares memory with its object: allocation now %q", got)
	}
}
