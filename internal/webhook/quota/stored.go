package quota

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// Charged creations not yet stored.
//
// The API server's quota admission commits a creation's charge to the
// singleton before it stores the object. A recount that sets usage to
// what a list shows (kube-controller-manager's, from its informers, or the
// correction of a stale one, from a live list) and is judged while such a
// creation is between the two does not see its object: the live list this
// webhook checks it against does not either, so the recount was allowed,
// erasing the charge, and the object then stored was counted by nobody.
// The next creation was admitted into its room: a race over a tree of one
// namespace ended with 101 pods under `pods: 100` (docs/quota.md).
//
// So a recount that lowers usage is judged only once every charge the
// singleton it replaces holds has had StoreSettle to be stored: the
// manager's informer must have delivered that version of the singleton
// (every charge up to it is then among the growths it saw), and the last
// growth it saw in the namespace must be StoreSettle old. Charges after it
// make the recount conflict, since it is written at that version. The live
// list is taken after the wait. Only the manager's release of departed pods
// (ctrlquota.ReleaseManager) is judged at once: it subtracts them from the
// usage it read, keeping every charge in it. A recount of a version the
// informer has seen replaced is refused at once: written at that version,
// it could only conflict, and in a namespace creating objects every few
// hundred milliseconds it would otherwise wait out the webhook's timeout.

// StoreSettle bounds how long the API server takes from committing a
// creation's quota charge to storing the object: a few milliseconds when
// idle, and below a tenth of a second in the race tests on a loaded
// two-core machine.
const StoreSettle = 500 * time.Millisecond

// storeWaitMax bounds the wait for the manager's informer to deliver the
// singleton a recount replaces; past it the recount is refused, and its
// writer retries.
const storeWaitMax = 3 * time.Second

// storePoll is how often the wait looks again.
const storePoll = 5 * time.Millisecond

// isRelease reports whether a status update is the manager's release of
// departed pods, written with ctrlquota.ReleaseManager as field manager.
func isRelease(req admission.Request) bool {
	if len(req.Options.Raw) == 0 {
		return false
	}
	var opts metav1.UpdateOptions
	return json.Unmarshal(req.Options.Raw, &opts) == nil && opts.FieldManager == ctrlquota.ReleaseManager
}

// awaitStored returns once every charge prev holds has had StoreSettle to
// be stored, as far as the manager's informer shows, or an error when it
// cannot tell within storeWaitMax, or when the singleton has moved past
// prev (the recount, written at prev's version, would only conflict).
// Without a feed it does not wait.
func (h *StatusHandler) awaitStored(ctx context.Context, prev *corev1.ResourceQuota) error {
	if h.Feed == nil {
		return nil
	}
	settle := h.StoreSettle
	if settle <= 0 {
		settle = StoreSettle
	}
	rv := quota.ParseRV(prev.ResourceVersion)
	deadline := time.Now().Add(storeWaitMax)
	for {
		grew, at := h.Feed.Charged(prev.Namespace, prev.Name)
		wait := storePoll
		switch {
		case at > rv:
			return fmt.Errorf("quota %s/%s changed while its recount was judged; retry", prev.Namespace, prev.Name)
		case at == rv:
			if wait = time.Until(grew.Add(settle)); wait <= 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the manager could not tell within %v whether the creations quota %s/%s charges at resourceVersion %d are stored; retry", storeWaitMax, prev.Namespace, prev.Name, rv)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(wait, storePoll*10)):
		}
	}
}
