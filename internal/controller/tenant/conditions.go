package tenant

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// OwnedConditions are the condition types this controller writes.
var OwnedConditions = []string{
	tenancyv1.ConditionReady, tenancyv1.ConditionNamespacesReady, tenancyv1.ConditionRBACReady,
	tenancyv1.ConditionQuotaReady, tenancyv1.ConditionPoliciesReady,
}

// Holding says which workloads a namespace still holds, by kind.
type Holding struct {
	Namespace string
	// Kinds are the kinds found, e.g. "pods", "deployments".
	Kinds []string
}

func (h Holding) String() string {
	return fmt.Sprintf("%s (holds %s)", h.Namespace, strings.Join(h.Kinds, ", "))
}

func holdingsMessage(hs []Holding) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.String()
	}
	return strings.Join(parts, "; ")
}

// Outcome is what one reconcile found, per aspect. An empty error string
// means the aspect converged.
type Outcome struct {
	// Missing are listed namespaces that do not exist yet.
	Missing []string
	// Kept are namespaces removed from the spec that still hold workloads.
	Kept []Holding
	// NamespacesErr, RBACErr, QuotaErr and PoliciesErr describe failures
	// writing each aspect.
	NamespacesErr, RBACErr, QuotaErr, PoliciesErr string
	// HasQuota is whether the spec asks for a quota.
	HasQuota bool
	// DeletionBlocked lists namespaces that block a Delete teardown.
	DeletionBlocked []Holding
}

// Conditions computes the conditions this controller owns from an outcome.
func Conditions(o Outcome, generation int64) []metav1.Condition {
	cond := func(typ string, ok bool, reason, msg string) metav1.Condition {
		s := metav1.ConditionTrue
		if !ok {
			s = metav1.ConditionFalse
		}
		return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: generation}
	}
	var nsCond metav1.Condition
	switch {
	case o.NamespacesErr != "":
		nsCond = cond(tenancyv1.ConditionNamespacesReady, false, ReasonApplyFailed, o.NamespacesErr)
	case len(o.Kept) > 0:
		nsCond = cond(tenancyv1.ConditionNamespacesReady, false, ReasonNamespaceHolds,
			"removed from spec.namespaces but kept because it still holds workloads: "+holdingsMessage(o.Kept))
	case len(o.Missing) > 0:
		nsCond = cond(tenancyv1.ConditionNamespacesReady, false, ReasonPending, "waiting for namespaces: "+strings.Join(o.Missing, ", "))
	default:
		nsCond = cond(tenancyv1.ConditionNamespacesReady, true, ReasonReconciled, "every namespace of the tree exists")
	}
	aspect := func(typ, err, okMsg string) metav1.Condition {
		if err != "" {
			return cond(typ, false, ReasonApplyFailed, err)
		}
		return cond(typ, true, ReasonReconciled, okMsg)
	}
	rbac := aspect(tenancyv1.ConditionRBACReady, o.RBACErr, "role bindings applied at the root")
	quota := aspect(tenancyv1.ConditionQuotaReady, o.QuotaErr, "tenant quota applied at the root")
	if o.QuotaErr == "" && !o.HasQuota {
		quota = cond(tenancyv1.ConditionQuotaReady, true, ReasonNoQuota, "the tenant sets no quota")
	}
	policies := aspect(tenancyv1.ConditionPoliciesReady, o.PoliciesErr, "policies applied")
	aspects := []metav1.Condition{nsCond, rbac, quota, policies}

	var notReady []string
	for _, c := range aspects {
		if c.Status != metav1.ConditionTrue {
			notReady = append(notReady, c.Type+": "+c.Message)
		}
	}
	ready := cond(tenancyv1.ConditionReady, true, ReasonReconciled, "the tenant is converged")
	switch {
	case len(o.DeletionBlocked) > 0:
		ready = cond(tenancyv1.ConditionReady, false, ReasonDeletionBlocked,
			"deletion (policy Delete) refused while namespaces hold workloads; set spec.force to delete anyway: "+holdingsMessage(o.DeletionBlocked))
	case len(o.Kept) > 0 && len(notReady) == 1:
		ready = cond(tenancyv1.ConditionReady, false, ReasonNamespaceHolds, notReady[0])
	case len(notReady) > 0:
		ready = cond(tenancyv1.ConditionReady, false, ReasonNotReady, strings.Join(notReady, "; "))
	}
	return append([]metav1.Condition{ready}, aspects...)
}

// MergeConditions sets desired onto existing (keeping lastTransitionTime
// when a status does not change) and returns only the types this
// controller owns, sorted by type, plus whether anything changed.
func MergeConditions(existing, desired []metav1.Condition, now metav1.Time) ([]metav1.Condition, bool) {
	var mine []metav1.Condition
	for _, c := range existing {
		if slices.Contains(OwnedConditions, c.Type) {
			mine = append(mine, c)
		}
	}
	changed := false
	for _, d := range desired {
		old := meta.FindStatusCondition(mine, d.Type)
		if old != nil && old.Status == d.Status && old.Reason == d.Reason && old.Message == d.Message && old.ObservedGeneration == d.ObservedGeneration {
			continue
		}
		d.LastTransitionTime = now
		meta.SetStatusCondition(&mine, d)
		changed = true
	}
	slices.SortFunc(mine, func(a, b metav1.Condition) int { return strings.Compare(a.Type, b.Type) })
	return mine, changed
}
