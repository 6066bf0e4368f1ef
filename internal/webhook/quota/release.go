package quota

import (
	"context"
	"time"
)

// Releaser releases at once what pods that went from the namespaces in
// (one tree's) are still charged, and reports whether it lowered any
// singleton (ctrlquota.Replenisher on the leader).
type Releaser interface {
	ReleaseNow(ctx context.Context, in func(ns string) bool) bool
}

// releaseSettle is how long a denial waits after a release, so that the
// API server's quota informer shows it before the API server tries the
// creations again (it retries at once, from its informer), as after a
// clamp.
const releaseSettle = clampSettle

// released asks the leader to release what departed pods are still charged
// in the namespaces in, one tree's, and reports whether it lowered a
// singleton; if so, it first waits releaseSettle (see ctrlquota's
// "Releasing early").
func (h *StatusHandler) released(ctx context.Context, in func(ns string) bool) bool {
	if h.Releases == nil || !h.Releases.ReleaseNow(ctx, in) {
		return false
	}
	select {
	case <-ctx.Done():
	case <-time.After(releaseSettle):
	}
	return true
}

// releasedHere is released for ns alone.
func (h *StatusHandler) releasedHere(ctx context.Context, ns string) bool {
	return h.released(ctx, func(n string) bool { return n == ns })
}

// releasedInTree is released for ns's tree.
func (h *StatusHandler) releasedInTree(ctx context.Context, ns string) bool {
	if h.Releases == nil {
		return false
	}
	return h.released(ctx, h.Trees.TreeOf(h.Forest, ns).Contains)
}

// msgReleased denies an attempt made on a singleton that a release has just
// lowered: the attempt cannot commit, and the API server's next attempt
// decides on the freed room.
const msgReleased = "Canopy released the quota usage of pods that were deleted; the API server retries this request against the freed room"
