package quota

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// clampSettle is how long a denial waits after clamping a singleton, so the
// API server's quota informer sees the lowered hard before it retries the
// batch (it retries at once, from its cache).
const clampSettle = ctrlquota.ClampSettle

// clamp lowers the singleton's hard to what the tree still has room for,
// so that the API server, retrying the denied batch, admits exactly the
// creations that fit instead of none (see ctrlquota.ClampHard). It writes
// status.hard, which the API server's quota admission reads, before the
// spec (ctrlquota.WriteHard), so kube-controller-manager does not write the
// singleton again to copy the new spec.hard while admissions are retrying.
// It is best effort: on any error the denial stands and the batch fails
// whole, which is safe. Like the ledger write, these writes are part of the
// admission decision: an API server's quota admission handles one
// namespace at a time, so no other admission of the namespace through the
// same API server is in flight while they are made.
func (h *StatusHandler) clamp(ctx context.Context, prev *corev1.ResourceQuota, e *quota.ExceededError) {
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", prev.Namespace, "resourcequota", prev.Name)
	cur := &corev1.ResourceQuota{}
	if err := h.Ledgers.Client.Get(ctx, client.ObjectKeyFromObject(prev), cur); err != nil {
		log.V(1).Info("Not clamping quota singleton", "reason", err.Error())
		return
	}
	hard, changed := ctrlquota.ClampHard(cur.Spec.Hard, prev.Status.Used, e)
	if !changed {
		return
	}
	held := cur.Status.Used.DeepCopy()
	if held == nil {
		held = corev1.ResourceList{}
	}
	for k, q := range hard {
		if was := cur.Spec.Hard[k]; q.Cmp(was) != 0 {
			held[k] = q
		}
	}
	cur.Spec.Hard = hard
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[ctrlquota.AnnotationClampedAt] = h.now().UTC().Format(time.RFC3339Nano)
	read := cur.ResourceVersion
	if err := ctrlquota.WriteHard(ctx, h.Ledgers.Client, cur); err != nil {
		log.V(1).Info("Not clamping quota singleton", "reason", err.Error())
		if cur.ResourceVersion == read {
			return
		}
		// status.hard was lowered, the spec was not: the API server
		// decides with the status, so it must still see it.
	} else {
		log.V(1).Info("Clamped quota singleton to the tree's remaining room", "hard", quota.String(hard))
	}
	h.holdClamp(ctx, cur, held)
	select {
	case <-ctx.Done():
	case <-time.After(clampSettle):
	}
}

// holdClamp reserves, in the ledger, the room a clamp leaves its namespace
// for the batch's retry: usage held, at the clamped singleton's
// resourceVersion. Without it another namespace's admission could take the
// room between the clamp and the retry; the retry would then be denied and
// clamped again, and each clamp costs the batch one of its four attempts
// (the write makes the attempt it is made in conflict), so four in a row
// refused it with "the object has been modified". The retry, at the same
// base, finds the room held and is allowed without a write (quota.Admit),
// and its commit, a later version, settles the reservation; so would any
// other write of the singleton, or the leader's settling write after a
// resync if the batch never came back. Best effort: when the room is
// gone by now, nothing is held and the retry is decided as before.
func (h *StatusHandler) holdClamp(ctx context.Context, clamped *corev1.ResourceQuota, held corev1.ResourceList) {
	want := clamped.DeepCopy()
	want.Status.Used = held
	if err := h.reserve(ctx, clamped, want, false); err != nil {
		ctrl.LoggerFrom(ctx).V(1).Info("Not holding the clamped room for the batch's retry", "reason", err.Error())
	}
}
