package quota

import (
	hncv1alpha2 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// FromHRQ reduces an HNC HierarchicalResourceQuota to a Quota: hard only,
// unscoped.
func FromHRQ(h *hncv1alpha2.HierarchicalResourceQuota) Quota {
	return Quota{
		Kind:      KindHierarchicalResourceQuota,
		Namespace: h.Namespace,
		Name:      h.Name,
		Hard:      h.Spec.Hard.DeepCopy(),
	}
}

// FromHierarchicalQuota reduces a Canopy HierarchicalQuota to a Quota.
func FromHierarchicalQuota(q *tenancyv1alpha1.HierarchicalQuota) Quota {
	return Quota{
		Kind:        KindHierarchicalQuota,
		Namespace:   q.Namespace,
		Name:        q.Name,
		Hard:        q.Spec.Hard,
		Allocations: q.Spec.Allocations,
		ScopeKey:    ScopeKey(q.Spec.ScopeSelector),
	}.deepCopy()
}
