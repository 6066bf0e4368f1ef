package quota

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
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
// So the status webhook asks its replica to release at once what departed
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
// nothing to write and nothing is denied.
//
// At an admission the release is written at the version the API server is
// admitting against (the review's old object), not at the cached one: the
// API server judges a namespace's batches one after another, so while the
// webhook is asked, that version is the stored one, and a release written
// there lands. From the cache it lost: in the stopped-replica race, the
// leader's cached singleton was one admission behind at every look, each
// release conflicted with the admission that had replaced it, and the race
// filled the tree with the probe still charged (99 of 100). The history
// (history.go) must have reached that version to say what it still
// charges, so the release waits for it, briefly.
//
// Every replica releases at admissions, not only the leader: behind two
// replicas half the admissions reach the other one, and when the leader
// stops, a replica that started watching pods only once elected would
// never see a pod that went before. Two replicas releasing the same
// departure cannot both land: each writes at the version it read, and the
// history shows the first release as a write that may have left the pod
// out. The delayed look (work) stays the leader's.

// releaseNowWait bounds ReleaseNow's looks at one namespace whose
// singleton's cached copy, or the history, is behind the stored one or the
// admitted one.
const releaseNowWait = 200 * time.Millisecond

// releaseNowPause is how long ReleaseNow waits for the cache or the
// history to catch up before looking again.
const releaseNowPause = 5 * time.Millisecond

// ReleaseNow lowers at once, instead of after Delay, every singleton of the
// namespaces in (one tree's) that still charges pods which went, and
// reports whether it lowered any. at, if set, is the singleton version an
// admission is judged against, written in place of the cached one (see
// above). The singleton mark names, if it is lowered, is marked with it
// (AnnotationReleasedUnder).
func (r *Replenisher) ReleaseNow(ctx context.Context, in func(ns string) bool, mark *ReleaseMark, at *corev1.ResourceQuota) bool {
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
		deadline := time.Now().Add(releaseNowWait)
		for {
			n, err := r.replenish(ctx, ns, look{mark: mark, at: at, write: true})
			released = released || n > 0
			if err == nil || !lookAgain(err) || time.Now().After(deadline) {
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
