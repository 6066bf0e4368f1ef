package forest

import (
	"fmt"
	"maps"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// Reason is the code of a local condition: one of HNC's condition reasons.
type Reason string

// The local condition reasons. ReasonAncestor is never stored: Conditions
// derives it from a halted ancestor.
const (
	ReasonParentMissing            Reason = Reason(api.ReasonParentMissing)
	ReasonInCycle                  Reason = Reason(api.ReasonInCycle)
	ReasonIllegalParent            Reason = Reason(api.ReasonIllegalParent)
	ReasonIllegalManagedLabel      Reason = Reason(api.ReasonIllegalManagedLabel)
	ReasonIllegalManagedAnnotation Reason = Reason(api.ReasonIllegalManagedAnnotation)
	ReasonDeletingCRD              Reason = Reason(api.ReasonDeletingCRD)
	ReasonAnchorMissing            Reason = Reason(api.ReasonAnchorMissing)
	ReasonAncestor                 Reason = Reason(api.ReasonAncestor)
	// ReasonRoleConflict is Canopy's own: a RoleBinding is not propagated
	// into the namespace because there its roleRef would resolve to a Role
	// that is not the propagated copy of the source's (set and cleared by
	// the propagation controller; it halts nothing).
	ReasonRoleConflict Reason = "RoleConflict"
)

// ConditionType is the HierarchyConfiguration condition type a reason is
// reported under. Illegal managed metadata and a missing anchor are
// BadConfiguration, as HNC's reconciler reports them (HNC's AllConditions
// table lists the metadata reasons under ActivitiesHalted, but HNC never
// halts for them); everything else halts activities.
func (r Reason) ConditionType() string {
	switch r {
	case ReasonIllegalManagedLabel, ReasonIllegalManagedAnnotation, ReasonAnchorMissing, ReasonRoleConflict:
		return api.ConditionBadConfiguration
	default:
		return api.ConditionActivitiesHalted
	}
}

// SetLocalCondition records a condition on this namespace (replacing the
// message of one with the same reason) and reports whether anything
// changed. ReasonAncestor is derived, never stored, and is ignored here.
func (ns *Namespace) SetLocalCondition(r Reason, msg string) bool {
	if r == ReasonAncestor {
		return false
	}
	if old, ok := ns.conditions[r]; ok && old == msg {
		return false
	}
	if ns.conditions == nil {
		ns.conditions = map[Reason]string{}
	}
	ns.conditions[r] = msg
	return true
}

// ClearLocalCondition removes the condition with that reason and reports
// whether there was one.
func (ns *Namespace) ClearLocalCondition(r Reason) bool {
	if _, ok := ns.conditions[r]; !ok {
		return false
	}
	delete(ns.conditions, r)
	return true
}

// LocalConditions returns a copy of the local conditions: reason to message.
func (ns *Namespace) LocalConditions() map[Reason]string { return maps.Clone(ns.conditions) }

// HasLocalCondition reports whether a condition with that reason is set.
func (ns *Namespace) HasLocalCondition(r Reason) bool {
	_, ok := ns.conditions[r]
	return ok
}

// IsHalted reports whether this namespace itself has an ActivitiesHalted
// condition, or SubnamespaceAnchorMissing. Use HaltedRoot to include halted
// ancestors.
//
// A missing anchor is reported as BadConfiguration, as HNC reports it, but
// it halts: the subnamespace-of annotation alone is no proof that the
// parent's owners made the namespace (one set while Canopy was down was
// never checked), so nothing is propagated into it, its tree labels stop
// at it and no Tenant labels it until a matching anchor exists.
func (ns *Namespace) IsHalted() bool {
	if ns == nil {
		return false
	}
	for r := range ns.conditions {
		if r.ConditionType() == api.ConditionActivitiesHalted || r == ReasonAnchorMissing {
			return true
		}
	}
	return false
}

// HaltedRoot returns the nearest namespace, ns itself or an ancestor, that is
// halted, or "" if none is. Nothing may be propagated into or out of a
// namespace whose HaltedRoot is not "".
func (ns *Namespace) HaltedRoot() string {
	for _, anc := range ns.selfAndAncestors() {
		if anc.IsHalted() {
			return anc.name
		}
	}
	return ""
}

// haltedAncestor is the ancestor whose halt ns reports as
// AncestorHaltActivities: none when ns has an ActivitiesHalted condition of
// its own (HNC's rule), else the nearest halted strict ancestor, so a
// namespace halted only by a missing anchor still reports a halted
// ancestor.
func (ns *Namespace) haltedAncestor() string {
	for r := range ns.conditions {
		if r.ConditionType() == api.ConditionActivitiesHalted {
			return ""
		}
	}
	for _, anc := range ns.selfAndAncestors()[1:] {
		if anc.IsHalted() {
			return anc.name
		}
	}
	return ""
}

// Conditions returns the conditions to report in the namespace's
// HierarchyConfiguration status: one per local condition, plus
// AncestorHaltActivities if an ancestor is halted. All have status True and
// a zero LastTransitionTime; they are sorted by type, reason and message.
// Use StatusConditions to fill in times and the observed generation.
func (ns *Namespace) Conditions() []metav1.Condition {
	var out []metav1.Condition
	for r, msg := range ns.conditions {
		out = append(out, metav1.Condition{
			Type:    r.ConditionType(),
			Status:  metav1.ConditionTrue,
			Reason:  string(r),
			Message: msg,
		})
	}
	if root := ns.haltedAncestor(); root != "" {
		out = append(out, metav1.Condition{
			Type:    api.ConditionActivitiesHalted,
			Status:  metav1.ConditionTrue,
			Reason:  string(ReasonAncestor),
			Message: fmt.Sprintf("Propagation paused in %q and its descendants due to ActivitiesHalted condition on ancestor %q", ns.name, root),
		})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Message < b.Message
	})
	return out
}

// StatusConditions is Conditions ready to write: each condition carries
// generation as ObservedGeneration and keeps the LastTransitionTime of an
// identical condition (same type, status, reason and message) in existing;
// new ones get now. Writing the result only when it differs from existing
// avoids no-op updates.
func (ns *Namespace) StatusConditions(generation int64, existing []metav1.Condition, now metav1.Time) []metav1.Condition {
	conds := ns.Conditions()
	for i := range conds {
		c := &conds[i]
		c.ObservedGeneration = generation
		c.LastTransitionTime = now
		for _, e := range existing {
			if e.Type == c.Type && e.Status == c.Status && e.Reason == c.Reason && e.Message == c.Message {
				c.LastTransitionTime = e.LastTransitionTime
				break
			}
		}
	}
	return conds
}

// RefreshConditions recomputes every local condition that follows from the
// model alone and reports whether any changed:
//   - IllegalParent: the parent is excluded from management;
//   - ParentMissing: the parent has not been seen in the API;
//   - InCycle: ns is a member of a cycle;
//   - SubnamespaceAnchorMissing: a subnamespace whose parent has no anchor
//     for it;
//   - IllegalManagedLabel / IllegalManagedAnnotation: spec keys the Config
//     does not allow.
//
// DeletingCRD is left alone. A change in a cycle affects every member, so
// reconcile all of CycleNames after a parent change.
func (ns *Namespace) RefreshConditions() bool {
	want := map[Reason]string{}
	if p := ns.parent; p != nil {
		if why := ns.forest.cfg.WhyExcluded(p.name); why != "" {
			want[ReasonIllegalParent] = fmt.Sprintf("Parent %q is an unmanaged namespace (%s)", p.name, why)
		} else if !p.exists {
			want[ReasonParentMissing] = fmt.Sprintf("Parent %q does not exist", p.name)
		}
	}
	if cycle := ns.CycleNames(); cycle != nil {
		want[ReasonInCycle] = "Namespace is a member of the cycle: " + strings.Join(append(cycle, cycle[0]), " <- ")
	}
	if ns.isSub && ns.parent != nil && !ns.parent.HasAnchor(ns.name) {
		want[ReasonAnchorMissing] = "The anchor is missing in the parent namespace"
	}
	if keys := ns.IllegalManagedLabels(); len(keys) > 0 {
		want[ReasonIllegalManagedLabel] = "Not a legal managed label (set via --managed-namespace-label): " + strings.Join(keys, ", ")
	}
	if keys := ns.IllegalManagedAnnotations(); len(keys) > 0 {
		want[ReasonIllegalManagedAnnotation] = "Not a legal managed annotation (set via --managed-namespace-annotation): " + strings.Join(keys, ", ")
	}

	changed := false
	for _, r := range []Reason{ReasonIllegalParent, ReasonParentMissing, ReasonInCycle, ReasonAnchorMissing, ReasonIllegalManagedLabel, ReasonIllegalManagedAnnotation} {
		if msg, ok := want[r]; ok {
			changed = ns.SetLocalCondition(r, msg) || changed
		} else {
			changed = ns.ClearLocalCondition(r) || changed
		}
	}
	return changed
}
