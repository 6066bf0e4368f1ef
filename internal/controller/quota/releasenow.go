package quota

import (
	"context"
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/metrics"
)

// Releasing early.
//
// The leader looks at a namespace DefaultReplenishDelay after a pod goes,
// so that kube-controller-manager's recount, which usually lands well
// within it, leaves it nothing to write. Under a burst of creations the
// recount often loses to the burst's admissions with a conflict (it passes
// the status webhook's live checks while they commit), and a burst can fill
// the tree within the delay with the departed pod still charged: a race
// test with a probe pod deleted right before 200 creations admitted 99 of
// 100, the burst over before the leader looked.
//
// So the status webhook asks the leader to release at once what departed
// pods are still charged (ReleaseNow; the decision and write the leader
// would make after the delay, only sooner) at two moments:
//
//   - Before it judges an admission in a namespace whose singleton still
//     charges a pod that went from it. The API server judges a batch of
//     creations against the singleton's own hard before it asks the
//     webhook, and a creation it refuses there is refused for good, even
//     if the batch is tried again: in a tree of one namespace, a race
//     filled the singleton at 100 with 99 pods and the departed probe, and
//     releasing at the admission that filled it was already too late for
//     the creations batched with it. If the release lowered the namespace's
//     singleton, the attempt cannot commit any more; it is denied once the
//     API server's informer has had time to show the release, and the API
//     server's next attempt decides on the freed room.
//   - Before it denies a growth in a tree, for every namespace of the tree:
//     the tree may be full only because of another namespace's departed
//     pods. The denial stands (the attempt was judged before the release),
//     and the next attempt decides on the freed room.
//
// kube-controller-manager's recount usually lands first, and then there is
// nothing to write and nothing is denied. On a replica that does not lead
// nothing is pending, and nothing changes.

// releaseNowAttempts bounds ReleaseNow's looks at one namespace whose
// singleton's cached copy, or the history, is behind the stored one.
const releaseNowAttempts = 5

// releaseNowPause is how long ReleaseNow waits for the cache to catch up
// before looking again.
const releaseNowPause = 10 * time.Millisecond

// ReleaseNow lowers at once, instead of after Delay, every singleton of the
// namespaces in (one tree's) that still charges pods which went, and
// reports whether it lowered any. The singleton mark names, if it is
// lowered, is marked with it (AnnotationReleasedUnder).
func (r *Replenisher) ReleaseNow(ctx context.Context, in func(ns string) bool, mark *ReleaseMark) bool {
	r.mu.Lock()
	var namespaces []string
	for ns := range r.pending {
		if in(ns) {
			namespaces = append(namespaces, ns)
		}
	}
	r.mu.Unlock()
	released := false
	for _, ns := range namespaces {
		for range releaseNowAttempts {
			n, err := r.replenish(ctx, ns, mark)
			released = released || n > 0
			if err == nil || !(IsConflict(err) || errors.Is(err, errHistoryBehind)) {
				if err != nil {
					ctrl.LoggerFrom(ctx).V(1).Info("Not lowering quota singletons for pods that went", "namespace", ns, "reason", err.Error())
				}
				break
			}
			if IsConflict(err) {
				metrics.Conflict("quota-replenisher", "resourcequotas")
			}
			sleep(ctx, releaseNowPause)
		}
	}
	return released
}
