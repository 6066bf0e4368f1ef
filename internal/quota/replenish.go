package quota

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Replenishing usage a recount missed.
//
// kube-controller-manager lowers a singleton's usage when a pod goes: the
// pod's deletion makes it recount the namespace from its informers. It reads
// the singleton from its informer too, and when that informer has not yet
// delivered the API server's latest admission (a creation charged just
// before the deletion), the recount finds the usage it expects and writes
// nothing. No later event makes it recount until its full resync
// (--resource-quota-sync-period, five minutes by default), and until then
// the departed pod stays charged: a tree whose room it held refuses what
// fits. The race tests' probes and the churn test met this on loaded
// machines.
//
// The leader therefore watches pods go, and lowers a singleton that still
// charges them (internal/controller/quota.Replenisher). What it subtracts is
// decided here, from resourceVersions alone: every write to a singleton has
// a resourceVersion, and a singleton at base charges a departed pod exactly
// when base is older than the write that made the pod stop counting.
//
//   - The pod was admitted before it was deleted, and every admission writes
//     the singleton, so the singleton at any version after that admission
//     charged it, until a recount left it out.
//   - A recount leaves a pod out only once the pod has stopped counting: it
//     is gone, terminal, or terminating (kube's QuotaV1Pod). Each of those is
//     a write of the pod, at a resourceVersion; a recount that saw it is a
//     later write of the singleton.
//   - So a singleton at base older than that write has not left the pod out,
//     and charges it; one at base newer may have, and is not touched.
//
// For count/pods, which counts every pod object, the write that matters is
// the deletion itself. For pods and compute, it is the first write that
// made the pod terminal or terminating; when that write was not seen (the
// watch started later), they are not lowered and the recount is left to
// kube-controller-manager.

// Departure is a pod that was deleted, with the resourceVersions of the
// writes that made it stop counting.
type Departure struct {
	// Pod is the pod's last state.
	Pod *corev1.Pod
	// Deleted is the resourceVersion of its deletion.
	Deleted uint64
	// Stopped is the resourceVersion of the first write from which it was
	// no longer charged for pods and compute: Deleted for a pod deleted
	// while running, the write that made it terminal or terminating
	// otherwise, and 0 when that write is not known.
	Stopped uint64
}

// Replenished returns used, the status.used of a singleton at resourceVersion
// base under scope, lowered by what it still charges for the departures (see
// above), and whether anything was lowered. Only names used holds are
// lowered, never below zero. A base that is not a revision (0, see ParseRV)
// lowers nothing.
func Replenished(used corev1.ResourceList, base uint64, scope *corev1.ScopeSelector, gone []Departure) (corev1.ResourceList, bool) {
	out := used.DeepCopy()
	changed := false
	if base == 0 {
		return out, false
	}
	for _, d := range gone {
		if d.Deleted <= base {
			continue
		}
		charged, ok := chargedUsage(d.Pod, scope)
		if !ok {
			continue
		}
		for r, q := range charged {
			if r != "count/pods" && (d.Stopped == 0 || d.Stopped <= base) {
				continue
			}
			cur, ok := out[r]
			if !ok || cur.Sign() <= 0 {
				continue
			}
			if cur.Cmp(q) < 0 {
				q = cur
			}
			cur.Sub(q)
			out[r] = cur
			changed = true
		}
	}
	return out, changed
}

// chargedUsage is what the pod counted under scope while it was charged:
// its usage as if it were neither terminating nor terminal. ok is false for
// a scope the pod evaluator does not know.
func chargedUsage(p *corev1.Pod, scope *corev1.ScopeSelector) (corev1.ResourceList, bool) {
	running := p.DeepCopy()
	running.DeletionTimestamp = nil
	running.DeletionGracePeriodSeconds = nil
	if terminal(running) {
		running.Status.Phase = corev1.PodRunning
	}
	return PodUsage([]corev1.Pod{*running}, scope, time.Time{})
}

// StoppedCounting reports whether a pod is terminal or terminating: from
// the write that made it so, a recount may leave it out of pods and
// compute.
func StoppedCounting(p *corev1.Pod) bool {
	return p.DeletionTimestamp != nil || terminal(p)
}
