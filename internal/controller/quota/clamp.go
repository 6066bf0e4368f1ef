package quota

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/canopyhq/canopy/internal/quota"
)

// Clamping a singleton near the limit.
//
// The API server batches concurrent creations in one namespace into a single
// ResourceQuota status update, and the status webhook can only admit or deny
// that update whole. When a batch fits the namespace's singleton but not the
// tree, denying it whole would also refuse the creations that still fit, and
// the quota would under-fill. So on such a denial the webhook first lowers
// the singleton's hard to what the tree has room for (ClampHard) and marks
// it with AnnotationClampedAt. The API server then retries the batch against
// the lowered hard and itself admits exactly the creations that fit, denying
// the rest one by one. The leader keeps a fresh clamp (KeepClamps) and
// restores the full hard once it is older than ClampTTL, so room freed later
// is usable again.
const (
	AnnotationClampedAt = "canopy.dev/clamped-at"
	ClampTTL            = 10 * time.Second
)

// ClampHard returns hard lowered, for every resource the exceeded quota
// names and that still has room, to prevUsed plus the room left in the
// exceeded pool, and whether anything was lowered. A resource with no room
// left is not clamped: the batch is denied whole, with the webhook's message. Resources are matched by their canonical names, so a
// singleton's `cpu` meets a quota's `requests.cpu`.
func ClampHard(hard, prevUsed corev1.ResourceList, e *quota.ExceededError) (corev1.ResourceList, bool) {
	limited := quota.Normalize(e.Limited)
	used := quota.Normalize(e.Used)
	out := hard.DeepCopy()
	changed := false
	for k, h := range hard {
		n := quota.CanonicalName(k)
		lim, ok := limited[n]
		if !ok {
			continue
		}
		room := lim.DeepCopy()
		room.Sub(used[n])
		if room.Sign() <= 0 {
			// Nothing more fits: the whole batch is rightly denied, and
			// the webhook's own message (naming the quota) must stand.
			continue
		}
		capped := prevUsed[k].DeepCopy()
		capped.Add(room)
		if capped.Cmp(h) < 0 {
			out[k] = capped
			changed = true
		}
	}
	return out, changed
}

// KeepClamps returns desired with the hard of every singleton clamped less
// than ClampTTL ago kept as it is, per resource where it is lower, so the
// leader does not undo a clamp the webhook just made.
func KeepClamps(existing, desired map[string][]corev1.ResourceQuota, now time.Time) map[string][]corev1.ResourceQuota {
	out := make(map[string][]corev1.ResourceQuota, len(desired))
	for ns, ds := range desired {
		cur := map[string]corev1.ResourceQuota{}
		for _, rq := range existing[ns] {
			cur[rq.Name] = rq
		}
		for _, d := range ds {
			if c, ok := cur[d.Name]; ok && clampFresh(c, now) {
				d = *d.DeepCopy()
				for k, h := range c.Spec.Hard {
					if want, ok := d.Spec.Hard[k]; ok && h.Cmp(want) < 0 {
						d.Spec.Hard[k] = h
					}
				}
			}
			out[ns] = append(out[ns], d)
		}
	}
	return out
}

func clampFresh(rq corev1.ResourceQuota, now time.Time) bool {
	at, err := time.Parse(time.RFC3339Nano, rq.Annotations[AnnotationClampedAt])
	return err == nil && now.Sub(at) < ClampTTL
}

// IsBatch reports whether a status update records more than one new object
// in some object count (pods, services, count/...), the only sign that the
// API server judged several creations together. Clamping helps only then;
// for a single object it would replace the webhook's message, which names
// the quota, with the API server's, which names the singleton.
func IsBatch(prev, next corev1.ResourceList) bool {
	for r, q := range next {
		if r != corev1.ResourcePods && r != corev1.ResourceServices && r != corev1.ResourceConfigMaps &&
			r != corev1.ResourceSecrets && r != corev1.ResourcePersistentVolumeClaims &&
			r != corev1.ResourceReplicationControllers && r != corev1.ResourceQuotas &&
			!strings.HasPrefix(string(r), "count/") {
			continue
		}
		grown := q.DeepCopy()
		grown.Sub(prev[r])
		if grown.CmpInt64(1) > 0 {
			return true
		}
	}
	return false
}
