package quota

import (
	"encoding/json"
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
// The manager therefore watches pods go, and lowers a singleton that still
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

// A singleton's latest version may come after the write that made a pod
// stop counting and still charge it: the API server's quota admission only
// adds, to the usage of the version before, what it admits. So what counts
// is the last write that may have left the pod out, not the latest one: a
// caller that saw every write of the singleton since the pod stopped
// counting passes as base the last write that did not only add (OnlyAdded
// reports which ones do), and otherwise the singleton's own version.

// AdmissionManager is the field manager of the API server's own writes,
// its quota admission's among them: the user agent of kube-apiserver's
// loopback client.
const AdmissionManager = "kube-apiserver"

// OnlyAdded reports whether the write that took a singleton from status.used
// prev to next only added to it, as the API server's quota admission does:
// every name whose quantity differs grew, and next's managed fields give it
// to AdmissionManager's status entry alone. A write that changed no name
// only added nothing. Anything else (kube-controller-manager's recounts,
// the manager's, a name that went away) may have left a pod out.
func OnlyAdded(prev corev1.ResourceList, next *corev1.ResourceQuota) bool {
	var grew []corev1.ResourceName
	for r, q := range next.Status.Used {
		old, ok := prev[r]
		switch {
		case !ok || old.Cmp(q) < 0:
			grew = append(grew, r)
		case old.Cmp(q) > 0:
			return false
		}
	}
	for r := range prev {
		if _, ok := next.Status.Used[r]; !ok {
			return false
		}
	}
	for _, r := range grew {
		owners := 0
		for _, m := range next.ManagedFields {
			if m.FieldsV1 == nil || !ownsUsed(m.FieldsV1.GetRawBytes(), r) {
				continue
			}
			if m.Manager != AdmissionManager || m.Subresource != "status" {
				return false
			}
			owners++
		}
		if owners != 1 {
			return false
		}
	}
	return true
}

// ownsUsed reports whether a managed-fields set holds status.used[r].
func ownsUsed(raw []byte, r corev1.ResourceName) bool {
	var set struct {
		Status struct {
			Used map[string]json.RawMessage `json:"f:used"`
		} `json:"f:status"`
	}
	if json.Unmarshal(raw, &set) != nil {
		return false
	}
	_, ok := set.Status.Used["f:"+string(r)]
	return ok
}

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

// Replenished returns used, the status.used of a singleton under scope whose
// last write that may have left a pod out is at resourceVersion base (its
// own version, or an earlier one as above), lowered by what it still charges for the departures (see
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
