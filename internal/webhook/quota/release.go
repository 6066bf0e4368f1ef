package quota

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// Releaser releases at once what pods that went from the namespaces in
// (one tree's) are still charged, and reports whether it lowered any
// singleton (ctrlquota.Replenisher). It writes at, the singleton version
// the API server is admitting against, in place of its cached copy, and
// marks the singleton mark names, if any, when it lowers it.
type Releaser interface {
	ReleaseNow(ctx context.Context, in func(ns string) bool, mark *ctrlquota.ReleaseMark, at *corev1.ResourceQuota) bool
}

// releaseSettle is how long a denial waits after a release, so that the
// API server's quota informer shows it before the API server tries the
// creations again (it retries at once, from its informer), as after a
// clamp.
const releaseSettle = clampSettle

// released asks the replenisher to release what departed pods are still
// charged in the namespaces in, one tree's, at the admitted version prev,
// and reports whether it lowered a singleton; if so, it first waits
// releaseSettle (see ctrlquota's "Releasing early").
func (h *StatusHandler) released(ctx context.Context, in func(ns string) bool, prev, next *corev1.ResourceQuota) bool {
	if h.Releases == nil || !h.Releases.ReleaseNow(ctx, in, h.releaseMark(prev, next), prev) {
		return false
	}
	select {
	case <-ctx.Done():
	case <-time.After(releaseSettle):
	}
	return true
}

// releasedHere is released for the namespace of the attempt from prev to
// next alone.
func (h *StatusHandler) releasedHere(ctx context.Context, prev, next *corev1.ResourceQuota) bool {
	return h.released(ctx, func(n string) bool { return n == next.Namespace }, prev, next)
}

// releasedInTree is released for the tree of the attempt's namespace.
func (h *StatusHandler) releasedInTree(ctx context.Context, prev, next *corev1.ResourceQuota) bool {
	if h.Releases == nil {
		return false
	}
	return h.released(ctx, h.Trees.TreeOf(h.Forest, next.Namespace).Contains, prev, next)
}

// msgReleased denies an attempt made on a singleton that a release has just
// lowered: the attempt cannot commit, and the API server's next attempt
// decides on the freed room.
const msgReleased = "Canopy released the quota usage of pods that were deleted; the API server retries this request against the freed room"

// Releasing under a batch that refused.
//
// The API server's quota admission judges a batch's creations against the
// singleton's own hard before it asks this webhook, and keeps a creation
// it refused there refused through the batch's retries. Yet a retry that
// finds room for it adds its usage to the update all the same
// (kube-apiserver's checkQuotas keeps the first error as the creation's
// result). A release before an attempt that may have refused creations
// makes exactly that room: in a race over a tree of one namespace, the
// deleted probe was released as a batch took the singleton from 88 to its
// hard of 100; the retry charged 13 from 87 while 12 were created, and the
// race ended with 99 pods refused at "used: pods=100".
//
// So a release that denies such an attempt marks the singleton it lowers
// with what the attempt charged (ctrlquota.AnnotationReleasedUnder). The
// batch's retry, at that version or a later one with nothing charged since,
// that charges more than that on a name is charging creations the API
// server refused: it is denied, and the singleton clamped to the room the
// first attempt had, so the next retry charges exactly the creations that
// will be created. The room left is the clamp's to give back
// (ctrlquota.Unclamp), for the next creation. The mark is on the singleton,
// which the API server sends with the retry as its old object, because the
// retry may reach the replica that did not release: a note in the leader's
// memory (the first version of this) was not seen there.

// msgReleasedRetry denies a batch's retry that would charge creations the
// API server refused in an earlier attempt.
const msgReleasedRetry = "Canopy released the quota usage of pods that were deleted while this batch was being admitted; the API server retries it with the room it first had, so that creations it refused are not charged"

// releaseMark is the mark a release under the attempt from prev to next
// leaves on its singleton, if the attempt may have refused creations.
func (h *StatusHandler) releaseMark(prev, next *corev1.ResourceQuota) *ctrlquota.ReleaseMark {
	if !mayHaveRefused(prev, next) {
		return nil
	}
	return &ctrlquota.ReleaseMark{Key: types.NamespacedName{Namespace: prev.Namespace, Name: prev.Name},
		Under: ctrlquota.ReleasedUnder{Base: quota.ParseRV(prev.ResourceVersion), Grew: growth(prev.Status.Used, next.Status.Used), At: h.now()}}
}

// releasedRetryExcess is ctrlquota.ReleasedRetryExcess for the attempt
// from prev to next.
func (h *StatusHandler) releasedRetryExcess(prev, next *corev1.ResourceQuota) corev1.ResourceList {
	return ctrlquota.ReleasedRetryExcess(prev.ResourceVersion, prev.Annotations, prev.Status.Used,
		growth(prev.Status.Used, next.Status.Used), h.now())
}

// mayHaveRefused reports whether the API server may have refused
// creations of the batch that wrote next against the singleton's own
// hard: some name next grows is left with less room than it grew by, or
// with none.
func mayHaveRefused(prev, next *corev1.ResourceQuota) bool {
	grew := growth(prev.Status.Used, next.Status.Used)
	for r, hard := range next.Status.Hard {
		used, ok := next.Status.Used[r]
		if !ok {
			continue
		}
		room := hard.DeepCopy()
		room.Sub(used)
		if g, grown := grew[r]; room.Sign() <= 0 || grown && room.Cmp(g) < 0 {
			return true
		}
	}
	return false
}

// growth returns what next adds to prev, name by name (names that do not
// grow are left out).
func growth(prev, next corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for name, g := range quota.Subtract(next, prev) {
		if g.Sign() > 0 {
			out[name] = g
		}
	}
	return out
}

// clampToFirstAttempt clamps prev's singleton so that a retry from prev
// has the room grew, what the batch's first attempt charged.
func (h *StatusHandler) clampToFirstAttempt(ctx context.Context, prev *corev1.ResourceQuota, grew corev1.ResourceList) {
	limited := corev1.ResourceList{}
	for name, g := range grew {
		l := prev.Status.Used[name].DeepCopy()
		l.Add(g)
		limited[name] = l
	}
	h.clamp(ctx, prev, &quota.ExceededError{Requested: grew, Used: prev.Status.Used, Limited: limited})
}
