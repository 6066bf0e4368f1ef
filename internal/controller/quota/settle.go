package quota

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/quota"
)

// unsettledSince is a reservation's base and when a reconcile first found
// it unsettled.
type unsettledSince struct {
	base  uint64
	since time.Time
}

// settle writes the singleton of every reservation found unsettled at the
// same base for at least a resync period. A reservation stays unsettled
// only while no later version of its singleton exists: usually its status
// update is in flight and commits in milliseconds, but if it never commits
// (the API server gave up after the webhook admitted it) and the namespace
// sees no further admission, it would count forever. Any write creates a
// later version, after which the API server can no longer commit an update
// made at the old base (one still in flight is retried by the API server at
// the new version), so the write settles it whatever the timing; the clock
// only decides when to write, never what counts.
func (r *Reconciler) settle(ctx context.Context, root string, l *quota.Ledger, existing map[string][]corev1.ResourceQuota) error {
	vs := ObservedVersions(existing)
	found := map[quota.Key]uint64{}
	for _, k := range quota.Unsettled(l, vs) {
		found[k] = l.Entries[k].Base
	}
	now := r.now()
	for k, seen := range r.remember(root, found, now) {
		if now.Sub(seen.since) < r.resync() {
			continue
		}
		for _, rq := range existing[k.Namespace] {
			if rq.Name != quota.SingletonName(k.Scope) || quota.ParseRV(rq.ResourceVersion) != seen.base {
				continue
			}
			upd := rq.DeepCopy()
			if upd.Annotations == nil {
				upd.Annotations = map[string]string{}
			}
			upd.Annotations[AnnotationSettled] = strconv.FormatUint(seen.base, 10)
			if err := r.Client.Update(ctx, upd); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return fmt.Errorf("settling the quota reservation of %s: %w", klog.KObj(upd), err)
			}
			ctrl.LoggerFrom(ctx).V(1).Info("Settled a quota reservation that never committed", "resourcequota", klog.KObj(upd), "base", seen.base)
		}
	}
	return nil
}

// remember records the unsettled reservations of a tree found now, keeping
// the time each was first found at the same base, and returns them.
func (r *Reconciler) remember(root string, found map[quota.Key]uint64, now time.Time) map[quota.Key]unsettledSince {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unsettled == nil {
		r.unsettled = map[string]map[quota.Key]unsettledSince{}
	}
	prev := r.unsettled[root]
	out := make(map[quota.Key]unsettledSince, len(found))
	for k, base := range found {
		if p, ok := prev[k]; ok && p.base == base {
			out[k] = p
		} else {
			out[k] = unsettledSince{base: base, since: now}
		}
	}
	if len(out) == 0 {
		delete(r.unsettled, root)
	} else {
		r.unsettled[root] = out
	}
	return out
}
