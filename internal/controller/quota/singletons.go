package quota

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/canopyhq/canopy/internal/quota"
)

// DesiredSingletons returns, for every namespace of the tree, the
// ResourceQuota singletons it needs: one per scope key that some quota on
// the namespace or an ancestor uses, with hard from quota.SingletonHard.
// Namespaces that need none are absent.
func DesiredSingletons(s *quota.Snapshot, quotas []quota.Quota, v TreeView) (map[string][]corev1.ResourceQuota, error) {
	var keys []string
	for _, q := range quotas {
		keys = append(keys, q.ScopeKey)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	selectors := make(map[string]*corev1.ScopeSelector, len(keys))
	for _, k := range keys {
		sel, err := quota.ParseScopeKey(k)
		if err != nil {
			return nil, fmt.Errorf("parsing scope key %q: %w", k, err)
		}
		selectors[k] = sel
	}
	out := map[string][]corev1.ResourceQuota{}
	for _, ns := range v.Namespaces {
		for _, k := range keys {
			hard := quota.SingletonHard(s, ns, k)
			if len(hard) == 0 {
				continue
			}
			out[ns] = append(out[ns], corev1.ResourceQuota{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: ns,
					Name:      quota.SingletonName(k),
					Labels:    map[string]string{LabelSingleton: "true"},
				},
				Spec: corev1.ResourceQuotaSpec{Hard: hard, ScopeSelector: selectors[k].DeepCopy()},
			})
		}
	}
	return out, nil
}

// AnnotationEpoch holds a singleton's escrow epoch (quota.Grant): a random
// value the manager sets when it creates the singleton and changes when it
// revokes the namespace's grant. Only the manager may change it.
const AnnotationEpoch = "canopy.dev/quota-epoch"

// NewEpoch returns a fresh epoch, never used before.
func NewEpoch() string { return string(uuid.NewUUID()) }

// WithEpoch sets a fresh epoch on rq if it has none.
func WithEpoch(rq *corev1.ResourceQuota) {
	if rq.Annotations[AnnotationEpoch] != "" {
		return
	}
	if rq.Annotations == nil {
		rq.Annotations = map[string]string{}
	}
	rq.Annotations[AnnotationEpoch] = NewEpoch()
}

// SingletonPlan is what must change to reach the desired singletons. The
// writer gives every created or updated singleton without an epoch one
// (WithEpoch).
type SingletonPlan struct {
	Create []corev1.ResourceQuota
	// Update holds existing objects with the desired spec and labels set,
	// and those without an epoch.
	Update []corev1.ResourceQuota
	Delete []corev1.ResourceQuota
}

// PlanSingletons compares the existing singletons of the tree with the
// desired ones. Only objects carrying LabelSingleton count as existing, so a
// user's own ResourceQuota is never touched; a user's object that happens to
// hold a singleton's name is adopted (labelled and updated).
func PlanSingletons(existing, desired map[string][]corev1.ResourceQuota) SingletonPlan {
	var p SingletonPlan
	for _, ns := range sortedNamespaces(existing, desired) {
		have := map[string]corev1.ResourceQuota{}
		for _, rq := range existing[ns] {
			have[rq.Name] = rq
		}
		want := map[string]bool{}
		for _, d := range desired[ns] {
			want[d.Name] = true
			cur, ok := have[d.Name]
			if !ok {
				p.Create = append(p.Create, d)
				continue
			}
			if IsSingleton(cur.Labels) && cur.Annotations[AnnotationEpoch] != "" && apiequality.Semantic.DeepEqual(cur.Spec.Hard, d.Spec.Hard) &&
				apiequality.Semantic.DeepEqual(cur.Spec.ScopeSelector, d.Spec.ScopeSelector) {
				continue
			}
			upd := *cur.DeepCopy()
			if upd.Labels == nil {
				upd.Labels = map[string]string{}
			}
			upd.Labels[LabelSingleton] = "true"
			delete(upd.Annotations, AnnotationClampedAt)
			upd.Spec.Hard, upd.Spec.ScopeSelector = d.Spec.Hard, d.Spec.ScopeSelector
			p.Update = append(p.Update, upd)
		}
		for _, rq := range existing[ns] {
			if !want[rq.Name] && IsSingleton(rq.Labels) {
				p.Delete = append(p.Delete, rq)
			}
		}
	}
	return p
}

func sortedNamespaces(a, b map[string][]corev1.ResourceQuota) []string {
	var out []string
	for ns := range a {
		out = append(out, ns)
	}
	for ns := range b {
		out = append(out, ns)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
