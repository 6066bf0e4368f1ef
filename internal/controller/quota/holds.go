package quota

import (
	"context"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/quota"
)

// AnnotationMoveFence is written on a HierarchyConfiguration by the leader
// to fence a move judged at the version it names and never stored (see
// quota.Hold): after that write the move cannot be stored at that version.
const AnnotationMoveFence = "canopy.dev/move-fence"

// reconcileHolds takes each hold of l one step (quota.StepHold): it fences
// those no forest has settled HoldFence after their judgement, and drops
// those settled for HoldSettle. It returns the ledger without the dropped
// holds (l itself when none is), and when to look again (0: no hold left).
//
// Reads, decides, then writes: the forest is read under its lock, the
// fence written after.
func (r *Reconciler) reconcileHolds(ctx context.Context, root string, l *quota.Ledger) (*quota.Ledger, time.Duration, error) {
	if len(l.Holds) == 0 {
		r.forgetHolds(root, nil)
		return l, 0, nil
	}
	seen := HierarchyVersionOf(r.Forest)
	now := r.now()
	var drop []string
	var look time.Duration
	keep := map[string]bool{}
	for k, h := range l.Holds {
		id := holdID(h)
		keep[id] = true
		if !h.Holding(seen(h.Namespace)) {
			r.settledHold(root, id, now)
		}
		step, next := quota.StepHold(h, r.holdSettledAt(root, id), now)
		switch step {
		case quota.HoldDrop:
			drop = append(drop, k)
			delete(keep, id)
			continue
		case quota.HoldFenceIt:
			movedOn, err := r.fence(ctx, h)
			if err != nil {
				return nil, 0, err
			}
			if movedOn {
				// Gone, or at a later version the forest will show:
				// either way the judged version can no longer be stored.
				r.settledHold(root, id, now)
				next = quota.HoldSettle
			}
		}
		if look == 0 || next < look {
			look = next
		}
	}
	r.forgetHolds(root, keep)
	return quota.DropHolds(l, drop), look, nil
}

// fence writes the moved namespace's HierarchyConfiguration at the version
// h was judged on, so that the move can no longer be stored at it (a
// request still in flight is judged again by the API server, or
// conflicts). It reports movedOn when there was nothing to fence: the
// HierarchyConfiguration is at another version, gone, or (for a create)
// exists.
func (r *Reconciler) fence(ctx context.Context, h quota.Hold) (movedOn bool, err error) {
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", h.Namespace, "parent", h.Parent, "version", h.Version)
	mark := strconv.FormatUint(h.Version, 10)
	if h.Version == 0 {
		hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: h.Namespace, Name: api.Singleton,
			Annotations: map[string]string{AnnotationMoveFence: mark}}}
		switch err := r.Client.Create(ctx, hc); {
		case apierrors.IsAlreadyExists(err), apierrors.IsNotFound(err), isTerminating(err):
			return true, nil
		case err != nil:
			return false, fmt.Errorf("fencing the move of %q under %q: %w", h.Namespace, h.Parent, err)
		}
		log.Info("Fenced a move judged against quotas and never stored")
		return false, nil
	}
	// A merge patch naming a resourceVersion applies only at that version.
	patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q,"annotations":{%q:%q}}}`, mark, AnnotationMoveFence, mark)
	hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: h.Namespace, Name: api.Singleton}}
	switch err := r.Client.Patch(ctx, hc, client.RawPatch(types.MergePatchType, []byte(patch))); {
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("fencing the move of %q under %q: %w", h.Namespace, h.Parent, err)
	}
	log.Info("Fenced a move judged against quotas and never stored")
	return false, nil
}

// holdID names one judgement of a hold, in the leader's memory.
func holdID(h quota.Hold) string { return h.Key() + "@" + strconv.FormatUint(h.Version, 10) }

// settledHold records, once, when the leader first found a hold settled.
func (r *Reconciler) settledHold(root, id string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holdsSettled == nil {
		r.holdsSettled = map[string]map[string]time.Time{}
	}
	if r.holdsSettled[root] == nil {
		r.holdsSettled[root] = map[string]time.Time{}
	}
	if _, ok := r.holdsSettled[root][id]; !ok {
		r.holdsSettled[root][id] = now
	}
}

func (r *Reconciler) holdSettledAt(root, id string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.holdsSettled[root][id]
}

// forgetHolds keeps in memory only the holds of root named in keep.
func (r *Reconciler) forgetHolds(root string, keep map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.holdsSettled[root] {
		if !keep[id] {
			delete(r.holdsSettled[root], id)
		}
	}
	if len(r.holdsSettled[root]) == 0 {
		delete(r.holdsSettled, root)
	}
}
