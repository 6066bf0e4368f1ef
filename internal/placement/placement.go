// Package placement decides, without a client, which member clusters a
// fleet Tenant selects, whether its quota split fits the tenant quota, and
// what Tenant the hub writes to each member. The hub reconciler
// (internal/fleet) reads members and Tenants, calls these functions, then
// writes what they return.
package placement

import (
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// Member is a registered member cluster as placement sees it.
type Member struct {
	Name   string
	Labels map[string]string
}

// Select returns the names of the members p places the Tenant on, sorted:
// those its selector matches and those it names. A named cluster that is
// not registered is returned too, so the hub reports it instead of
// silently dropping it.
func Select(p *tenancyv1.TenantPlacement, members []Member) ([]string, error) {
	if p == nil {
		return nil, nil
	}
	set := map[string]bool{}
	for _, n := range p.Clusters {
		set[n] = true
	}
	if p.ClusterSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(p.ClusterSelector)
		if err != nil {
			return nil, fmt.Errorf("spec.placement.clusterSelector: %w", err)
		}
		for _, m := range members {
			if sel.Matches(labels.Set(m.Labels)) {
				set[m.Name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// ValidateSplit checks spec.placement.quota against spec.quota: every
// allocated resource is limited by the tenant quota, and for each resource
// the allocations sum to at most its limit.
func ValidateSplit(spec *tenancyv1.TenantSpec) field.ErrorList {
	p := spec.Placement
	if p == nil {
		return nil
	}
	path := field.NewPath("spec", "placement", "quota")
	var errs field.ErrorList
	if p.ClusterSelector != nil {
		if _, err := metav1.LabelSelectorAsSelector(p.ClusterSelector); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("spec", "placement", "clusterSelector"), p.ClusterSelector, err.Error()))
		}
	}
	if len(p.Quota) == 0 {
		return errs
	}
	if spec.Quota == nil {
		return append(errs, field.Required(field.NewPath("spec", "quota"), "a quota split needs the tenant quota it splits"))
	}
	sums := corev1.ResourceList{}
	for i, a := range p.Quota {
		for r, q := range a.Hard {
			if _, ok := spec.Quota.Hard[r]; !ok {
				errs = append(errs, field.Invalid(path.Index(i).Child("hard").Key(string(r)), q.String(),
					"not limited by spec.quota.hard; allocate only resources the tenant quota limits"))
				continue
			}
			s := sums[r]
			s.Add(q)
			sums[r] = s
		}
	}
	names := make([]string, 0, len(sums))
	for r := range sums {
		names = append(names, string(r))
	}
	sort.Strings(names)
	for _, r := range names {
		limit := spec.Quota.Hard[corev1.ResourceName(r)]
		if s := sums[corev1.ResourceName(r)]; s.Cmp(limit) > 0 {
			errs = append(errs, field.Invalid(path, s.String(),
				fmt.Sprintf("allocations of %s sum to %s, over spec.quota.hard's %s", r, s.String(), limit.String())))
		}
	}
	return errs
}

// Allocation returns cluster's share of the quota and whether the cluster
// may be written: a Tenant with no quota places without one, and a Tenant
// with a quota places only where the split gives the cluster a share.
func Allocation(spec *tenancyv1.TenantSpec, cluster string) (corev1.ResourceList, bool) {
	if spec.Quota == nil {
		return nil, true
	}
	if spec.Placement != nil {
		for _, a := range spec.Placement.Quota {
			if a.Cluster == cluster {
				return a.Hard.DeepCopy(), true
			}
		}
	}
	return nil, false
}

// MemberTenant returns the Tenant the hub writes to cluster for hub: the
// same spec without placement, with the cluster's quota share, without
// force (a member never deletes a namespace holding workloads on the hub's
// behalf), labelled as managed by the hub. ok is false when the cluster has
// no quota share.
func MemberTenant(hub *tenancyv1.Tenant, cluster string) (*tenancyv1.Tenant, bool) {
	hard, ok := Allocation(&hub.Spec, cluster)
	if !ok {
		return nil, false
	}
	spec := *hub.Spec.DeepCopy()
	spec.Placement = nil
	spec.Force = false
	spec.Quota = nil
	if hard != nil {
		spec.Quota = &tenancyv1.TenantQuota{Hard: hard}
	}
	t := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: hub.Name, Labels: map[string]string{tenancyv1.LabelManagedBy: tenancyv1.ManagedByHub}},
		Spec:       spec,
	}
	return t, true
}

// Plan is what the hub does with one Tenant.
type Plan struct {
	// Place are the clusters to write the member Tenant to.
	Place []string
	// Unallocated are placed clusters left out for want of a quota share.
	Unallocated []string
	// Remove are clusters the Tenant left (or, on deletion, every cluster
	// that still holds it).
	Remove []string
}

// Decide plans hub's placement over the registered members, given the
// clusters already holding (or reported as holding) its member Tenant.
func Decide(hub *tenancyv1.Tenant, members []Member, holding []string) (Plan, error) {
	var plan Plan
	var selected []string
	if hub.DeletionTimestamp == nil {
		var err error
		if selected, err = Select(hub.Spec.Placement, members); err != nil {
			return plan, err
		}
	}
	for _, c := range selected {
		if _, ok := Allocation(&hub.Spec, c); ok {
			plan.Place = append(plan.Place, c)
		} else {
			plan.Unallocated = append(plan.Unallocated, c)
		}
	}
	for _, c := range holding {
		if !slices.Contains(plan.Place, c) && !slices.Contains(plan.Remove, c) {
			plan.Remove = append(plan.Remove, c)
		}
	}
	sort.Strings(plan.Remove)
	return plan, nil
}
