package quota

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Releaser releases at once what pods that went from the namespaces in
// (one tree's) are still charged, and returns the namespaces whose
// singletons it lowered (ctrlquota.Replenisher on the leader).
type Releaser interface {
	ReleaseNow(ctx context.Context, in func(ns string) bool) []string
}

// releaseSettle is how long a denial waits after a release, so that the
// API server's quota informer shows it before the API server tries the
// creations again (it retries at once, from its informer), as after a
// clamp.
const releaseSettle = clampSettle

// released asks the leader to release what departed pods are still charged
// in ns's tree, and returns the namespaces whose singletons it lowered;
// when there are any, it first waits releaseSettle (see ctrlquota's
// "Releasing at a denial").
func (h *StatusHandler) released(ctx context.Context, ns string) []string {
	if h.Releases == nil {
		return nil
	}
	v := h.Trees.TreeOf(h.Forest, ns)
	out := h.Releases.ReleaseNow(ctx, v.Contains)
	if len(out) == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
	case <-time.After(releaseSettle):
	}
	return out
}

// msgReleased denies an attempt made on a singleton that a release has just
// lowered: the attempt cannot commit, and the API server's next attempt
// decides on the freed room.
const msgReleased = "Canopy released the quota usage of pods that were deleted; the API server retries this request against the freed room"

// fills reports whether next leaves no room in the singleton for a
// resource whose usage grows: the API server then refuses the namespace's
// next creations itself, without asking this webhook.
func fills(prev, next *corev1.ResourceQuota) bool {
	for r, u := range next.Status.Used {
		h, ok := next.Status.Hard[r]
		if !ok || u.Cmp(h) < 0 {
			continue
		}
		if p := prev.Status.Used[r]; u.Cmp(p) > 0 {
			return true
		}
	}
	return false
}
