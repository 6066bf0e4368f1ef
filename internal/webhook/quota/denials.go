package quota

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// Clamping only on the first denial of a batch.
//
// The API server's quota admission tries one batch up to four times in a
// row: after a denial or a conflict it reads the singleton again from its
// informer and sends the same status update again at once. A clamp writes
// the singleton while that update is in flight, so the attempt it is made in
// can only fail with a conflict ("the object has been modified"), and the
// clamp helps only the attempts after it. Made in the last attempt, it helps
// none, and every creation of the batch is refused with the conflict instead
// of the quota's message. That happened when room appeared in the tree
// between two attempts (a reservation elsewhere that never committed was
// settled): the attempts before had been denied with no room to clamp to,
// and the last one clamped. An attempt that repeats an update this replica
// has already denied, at the same resourceVersion, is a retry of the same
// batch; it is denied again without a clamp, so it is refused with the
// quota's message, and the room is left to the next batch, which clamps on
// its first attempt if it does not fit whole.
//
// Each attempt may reach a different replica (the API server calls the
// webhook's Service, which may balance each request). A replica that kept
// its denials to itself could see a batch for the first time on its last
// attempt, after the other replica had denied the first three, and clamp
// then: seen with an audit log in the two-replica race. So a replica
// records each batch it sees denied for the first time in a ConfigMap the
// replicas share (ctrlquota.DenialStore), and a batch another replica
// recorded is a retry.

// maxRememberedDenials bounds deniedBatches: it forgets everything when
// full, which at worst lets one more retry clamp.
const maxRememberedDenials = 4096

// deniedBatches remembers, per singleton, the last batch this replica
// denied.
type deniedBatches struct {
	mu   sync.Mutex
	last map[types.NamespacedName]string
}

// first records that the status update from prev to next was denied, and
// reports whether it is the first denial of that update: not a repeat, at
// the same resourceVersion and with the same old and new usage, of the last
// one this replica, or with shared any replica, denied for the singleton.
// If the shared record cannot be read or written, the answer is this
// replica's alone.
func (d *deniedBatches) first(ctx context.Context, shared *ctrlquota.DenialStore, prev, next *corev1.ResourceQuota) bool {
	key := types.NamespacedName{Namespace: prev.Namespace, Name: prev.Name}
	sig := prev.ResourceVersion + " " + quota.String(prev.Status.Used) + " " + quota.String(next.Status.Used)
	d.mu.Lock()
	if d.last == nil || len(d.last) >= maxRememberedDenials {
		d.last = map[types.NamespacedName]string{}
	}
	repeat := d.last[key] == sig
	d.last[key] = sig
	d.mu.Unlock()
	if repeat || shared == nil {
		return !repeat
	}
	claimed, err := shared.Claim(ctx, key, sig)
	if err != nil {
		ctrl.LoggerFrom(ctx).V(1).Info("Judging a quota denial on this replica's record alone", "namespace", key.Namespace, "reason", err.Error())
		return true
	}
	return claimed
}
