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
// in ns's tree before a denial, and reports whether it lowered a singleton;
// it then waits releaseSettle. The denial stands either way: the attempt
// was judged on the usage before the release, and if the release wrote the
// denied namespace's singleton, the attempt could not commit. The API
// server's next attempt decides on the freed room (see ctrlquota's
// "Releasing at a denial").
func (h *StatusHandler) released(ctx context.Context, ns string) bool {
	if h.Releases == nil {
		return false
	}
	v := h.Trees.TreeOf(h.Forest, ns)
	if !h.Releases.ReleaseNow(ctx, v.Contains) {
		return false
	}
	select {
	case <-ctx.Done():
	case <-time.After(releaseSettle):
	}
	return true
}
