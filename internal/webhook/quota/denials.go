package quota

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

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
// one this replica denied for the singleton.
func (d *deniedBatches) first(prev, next *corev1.ResourceQuota) bool {
	key := types.NamespacedName{Namespace: prev.Namespace, Name: prev.Name}
	sig := prev.ResourceVersion + " " + quota.String(prev.Status.Used) + " " + quota.String(next.Status.Used)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil || len(d.last) >= maxRememberedDenials {
		d.last = map[types.NamespacedName]string{}
	}
	if d.last[key] == sig {
		return false
	}
	d.last[key] = sig
	return true
}
