package quota

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateHierarchicalQuota decides the admission of a HierarchicalQuota
// (candidate) against the snapshot, which holds the tree and the other
// quotas. It returns the field errors that deny it and warnings that do not:
//
//   - hard and allocations hold no negative quantity;
//   - every allocation names only resources hard names, and per resource
//     the allocations sum to no more than hard;
//   - an allocation key is not the quota's own namespace nor a namespace
//     that exists outside its subtree; a key naming no existing namespace is
//     allowed and takes effect when that subtree appears below the quota;
//   - for every resource both name, hard is no larger than the hard of any
//     quota with the same scope key on an ancestor, nor than any allocation
//     of such a quota that covers the candidate's namespace (the allocation
//     for it or for an ancestor of it below that quota).
//
// Lowering a quota below its usage or below what a descendant's quota holds
// is allowed (the quota is then over its limit); the latter is returned as a
// warning. A HierarchicalResourceQuota should get only the first check, so
// that HNC's behaviour is kept: pass it with Allocations empty and ignore the
// ancestor errors, or call ValidateHard.
func ValidateHierarchicalQuota(s *Snapshot, candidate Quota) (field.ErrorList, []string) {
	spec := field.NewPath("spec")
	errs := ValidateHard(candidate)
	errs = append(errs, validateAllocations(s, candidate, spec.Child("allocations"))...)
	errs = append(errs, validateAgainstAncestors(s, candidate, spec.Child("hard"))...)
	return errs, descendantWarnings(s, candidate)
}

// ValidateHard checks that hard and allocations hold no negative quantity.
func ValidateHard(q Quota) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	for _, r := range sortedNames(q.Hard) {
		if h := q.Hard[r]; h.Sign() < 0 {
			errs = append(errs, field.Invalid(spec.Child("hard").Child(string(r)), h.String(), "must not be negative"))
		}
	}
	for _, k := range sortedKeys(q.Allocations) {
		for _, r := range sortedNames(q.Allocations[k]) {
			if a := q.Allocations[k][r]; a.Sign() < 0 {
				errs = append(errs, field.Invalid(spec.Child("allocations").Key(k).Child(string(r)), a.String(), "must not be negative"))
			}
		}
	}
	return errs
}

func validateAllocations(s *Snapshot, q Quota, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	sum := corev1.ResourceList{}
	for _, k := range sortedKeys(q.Allocations) {
		kp := path.Key(k)
		switch {
		case k == q.Namespace:
			errs = append(errs, field.Invalid(kp, k, "an allocation must name a descendant namespace, not the quota's own"))
		case s.exists(k) && !s.isStrictDescendant(k, q.Namespace):
			errs = append(errs, field.Invalid(kp, k, fmt.Sprintf("namespace %q is not a descendant of %q", k, q.Namespace)))
		}
		alloc := q.Allocations[k]
		for _, r := range sortedNames(alloc) {
			if _, ok := q.Hard[r]; !ok {
				a := alloc[r]
				errs = append(errs, field.Invalid(kp.Child(string(r)), a.String(), "allocates a resource that spec.hard does not limit"))
			}
		}
		addInto(sum, alloc)
	}
	for _, r := range Exceeding(sum, q.Hard) {
		total, hard := sum[r], q.Hard[r]
		errs = append(errs, field.Invalid(path, fmt.Sprintf("%s=%s", r, total.String()),
			fmt.Sprintf("allocations sum to more than spec.hard.%s=%s", r, hard.String())))
	}
	return errs
}

func validateAgainstAncestors(s *Snapshot, q Quota, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	anc := s.ancestry(q.Namespace)
	for i := 1; i < len(anc); i++ {
		for _, a := range s.quotas[anc[i]] {
			if a.ScopeKey != q.ScopeKey {
				continue
			}
			for _, r := range sortedNames(q.Hard) {
				h := q.Hard[r]
				if ah, ok := a.Hard[r]; ok && h.Cmp(ah) > 0 {
					errs = append(errs, field.Invalid(path.Child(string(r)), h.String(),
						fmt.Sprintf("exceeds spec.hard.%s=%s of ancestor %s", r, ah.String(), a.Ref())))
				}
			}
			// Allocations of a that cover q's namespace: keyed by it or by an
			// ancestor of it below a.
			for _, k := range anc[:i] {
				alloc, ok := a.Allocations[k]
				if !ok {
					continue
				}
				for _, r := range sortedNames(q.Hard) {
					h := q.Hard[r]
					if al, ok := alloc[r]; ok && h.Cmp(al) > 0 {
						errs = append(errs, field.Invalid(path.Child(string(r)), h.String(),
							fmt.Sprintf("exceeds its allocation spec.allocations[%s].%s=%s of %s", k, r, al.String(), a.Ref())))
					}
				}
			}
		}
	}
	return errs
}

// descendantWarnings names the quotas below the candidate, with its scope
// key, whose hard is larger than the candidate's hard or allocation for them.
func descendantWarnings(s *Snapshot, q Quota) []string {
	var out []string
	probe := NewSnapshot(s.parent, []Quota{q}, nil)
	for _, ns := range sortedKeys(s.quotas) {
		if !s.isStrictDescendant(ns, q.Namespace) {
			continue
		}
		for _, d := range s.quotas[ns] {
			if d.ScopeKey != q.ScopeKey {
				continue
			}
			child := d.Quota
			if errs := validateAgainstAncestors(probe, child, field.NewPath("spec", "hard")); len(errs) > 0 {
				out = append(out, fmt.Sprintf("%s is now larger than this quota allows: %s", d.Ref(), errs.ToAggregate().Error()))
			}
		}
	}
	return out
}

// exists reports whether ns is a namespace of the tree.
func (s *Snapshot) exists(ns string) bool {
	_, ok := s.parent[ns]
	return ok
}
