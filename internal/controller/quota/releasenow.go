package quota

import (
	"context"
	"errors"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/metrics"
)

// Releasing at a denial.
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
// A denial in the tree is the moment that charge refuses something, so the
// status webhook, before it denies, asks the leader to release at once
// what the tree's departed pods are still charged (ReleaseNow). When a
// namespace's own singleton binds (a tree of one namespace, or a quota on
// the namespace itself), the API server refuses the namespace's creations
// itself once the singleton is full, without asking the webhook, so the
// webhook asks for the release earlier: at the admission that would fill
// the singleton. The write
// is the one the leader would make after the delay, decided the same way,
// only sooner. If it lowered a singleton, the webhook denies the attempt (the singleton
// has a new version, so the attempt could not commit anyway) after the API
// server's informer has had time to show the release, and the API server's
// next attempt of the same creations decides on the freed room. On a
// replica that does not lead nothing is pending, and nothing changes.

// releaseNowAttempts bounds ReleaseNow's looks at one namespace whose
// singleton's cached copy, or the history, is behind the stored one.
const releaseNowAttempts = 5

// releaseNowPause is how long ReleaseNow waits for the cache to catch up
// before looking again.
const releaseNowPause = 10 * time.Millisecond

// ReleaseNow lowers at once, instead of after Delay, every singleton of the
// namespaces in (one tree's) that still charges pods which went, and
// returns the namespaces whose singletons it lowered.
func (r *Replenisher) ReleaseNow(ctx context.Context, in func(ns string) bool) []string {
	r.mu.Lock()
	var namespaces []string
	for ns := range r.pending {
		if in(ns) {
			namespaces = append(namespaces, ns)
		}
	}
	r.mu.Unlock()
	var released []string
	for _, ns := range namespaces {
		for range releaseNowAttempts {
			n, err := r.replenish(ctx, ns)
			if n > 0 {
				released = append(released, ns)
			}
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
