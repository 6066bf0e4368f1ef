package quota

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/quota"
)

// Condition types and reasons of a HierarchicalQuota.
const (
	ConditionReady     = "Ready"
	ConditionOverLimit = tenancyv1.ConditionOverLimit

	ReasonEnforced     = "Enforced"
	ReasonInvalidSpec  = "InvalidSpec"
	ReasonOverLimit    = "UsageAboveLimit"
	ReasonWithinLimits = "WithinLimits"
)

// HRQStatus is an HRQ's status as HNC v1.1.0 defines it: hard and the
// subtree's used for every resource hard names.
func HRQStatus(s *quota.Snapshot, h *hncv1.HierarchicalResourceQuota) hncv1.HierarchicalResourceQuotaStatus {
	return hncv1.HierarchicalResourceQuotaStatus{
		Hard: h.Spec.Hard.DeepCopy(),
		Used: quota.StatusUsed(s, quota.FromHRQ(h)),
	}
}

// HQStatus is a HierarchicalQuota's status. invalid holds the reasons the
// spec is invalid (it got in while the webhook was unavailable); such a
// quota is still enforced as written, and Ready says why it should be fixed.
// Conditions keep their transition times from cur when unchanged.
func HQStatus(s *quota.Snapshot, q *tenancyv1.HierarchicalQuota, invalid string, now metav1.Time) tenancyv1.HierarchicalQuotaStatus {
	eq := quota.FromHierarchicalQuota(q)
	used := quota.StatusUsed(s, eq)
	st := tenancyv1.HierarchicalQuotaStatus{
		ObservedGeneration: q.Generation,
		Hard:               q.Spec.Hard.DeepCopy(),
		Used:               used,
		RequestsSummary:    Summary(used, q.Spec.Hard, false),
		LimitsSummary:      Summary(used, q.Spec.Hard, true),
		Conditions:         slices.Clone(q.Status.Conditions),
	}
	ready := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonEnforced,
		Message: "Usage over the subtree is enforced", ObservedGeneration: q.Generation, LastTransitionTime: now}
	if invalid != "" {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ReasonInvalidSpec, invalid
	}
	meta.SetStatusCondition(&st.Conditions, ready)
	over := metav1.Condition{Type: ConditionOverLimit, Status: metav1.ConditionFalse, Reason: ReasonWithinLimits,
		Message: "Usage fits every limit", ObservedGeneration: q.Generation, LastTransitionTime: now}
	if os := quota.OverLimit(s, eq); len(os) > 0 {
		over.Status, over.Reason = metav1.ConditionTrue, ReasonOverLimit
		over.Message = "Usage is above the limit, nothing more is admitted until it fits: " + quota.FormatOverages(os)
	}
	meta.SetStatusCondition(&st.Conditions, over)
	return st
}

// Summary renders "used/hard" per resource, sorted by name: the limits.*
// names when limits is true, every other name otherwise. Example:
// "pods: 3/10, requests.cpu: 500m/2".
func Summary(used, hard corev1.ResourceList, limits bool) string {
	var parts []string
	for _, r := range sortedResourceNames(hard) {
		if strings.HasPrefix(string(r), "limits.") != limits {
			continue
		}
		u, h := used[r], hard[r]
		parts = append(parts, fmt.Sprintf("%s: %s/%s", r, u.String(), h.String()))
	}
	return strings.Join(parts, ", ")
}

func sortedResourceNames(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for r := range l {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
