package quota

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
// the rest one by one.
//
// Every write of a singleton other than the API server's own quota
// admission makes an admission in flight in that namespace conflict, and the
// API server retries a conflict only a few times, from its informer, before
// refusing the creation with "the object has been modified". So hard is
// changed with as few writes as possible, and only when it changes a
// decision:
//
//   - WriteHard sets status.hard (what the quota admission compares with)
//     before spec.hard. kube-controller-manager's quota controller, which
//     resyncs a quota whose spec.hard changed and copies spec.hard into
//     status.hard, then finds nothing to copy, and does not write the
//     singleton on top of the clamp.
//   - A clamp is kept as long as it refuses nothing that fits
//     (KeepClamps): while the tree has no more room than the clamp leaves,
//     restoring it would change no decision and would only collide with
//     admissions.
//   - Once room appears, the clamp must be gone before anyone can see the
//     room, because the API server refuses at the clamp without asking
//     Canopy. Deletions free room through a recount that lowers a
//     singleton's status.used, which the status webhook judges: it lifts
//     the clamps the freed room leaves refusing what fits (Unclamp) before
//     it allows the recount, so the lift commits first. The leader
//     reconciles a tree that holds a clamp at once on any new usage (not
//     after StatusBatch), and lifts the clamps KeepClamps drops before it
//     writes the quotas' status.used, waiting ClampSettle after a lift.
//   - Neither lifts a clamp while a reservation is unsettled at the
//     singleton's version, for up to clampBusy: the batch's retry, which
//     the clamp's hold reserved for, is then in flight at that version,
//     and the lift would make it conflict (in the race tests, clamp and
//     restore took turns until a batch ran out of attempts). The
//     reservation settles when the retry commits; one still unsettled after
//     clampBusy is no retry, and keeps no clamp. The leader reconciles such
//     a tree again after clampBusy.
const AnnotationClampedAt = "canopy.dev/clamped-at"

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

// KeepClamps returns desired with the hard of every clamped singleton (one
// marked with AnnotationClampedAt) kept where it is lower, as long as the
// clamp refuses nothing that fits (no clamped resource could grow above its
// clamp in the snapshot, which holds the tree's effective usage) or its
// namespace and scope are busy: a reservation is unsettled at the version
// the singleton has (see above). A clamp that refuses something that fits
// is dropped whole, so the singleton gets its desired hard again. A kept
// clamp never raises desired.
func KeepClamps(existing, desired map[string][]corev1.ResourceQuota, snap *quota.Snapshot, busy map[quota.Key]bool) map[string][]corev1.ResourceQuota {
	out := make(map[string][]corev1.ResourceQuota, len(desired))
	for ns, ds := range desired {
		cur := map[string]corev1.ResourceQuota{}
		for _, rq := range existing[ns] {
			cur[rq.Name] = rq
		}
		for _, d := range ds {
			if c, ok := cur[d.Name]; ok && isClamped(c) && (busy[quota.Key{Namespace: ns, Scope: quota.ScopeKey(c.Spec.ScopeSelector)}] || !refusesWhatFits(snap, c, d)) {
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

// Unclamp returns, of the clamped singletons given, those whose clamp
// refuses something that fits in the snapshot (which holds the usage
// admission decides with) and whose namespace and scope are not busy, each
// with its clamp lifted: hard back to what the snapshot's quotas give it
// (quota.SingletonHard) and AnnotationClampedAt removed. It is KeepClamps's
// judgement for singletons read one by one: the status webhook lifts these
// before it lets a recount lower usage (see the comment above
// AnnotationClampedAt), so that no creation is refused at a clamp once the
// room shows.
func Unclamp(clamped []corev1.ResourceQuota, snap *quota.Snapshot, busy map[quota.Key]bool) []corev1.ResourceQuota {
	var out []corev1.ResourceQuota
	for _, c := range clamped {
		scope := quota.ScopeKey(c.Spec.ScopeSelector)
		hard := quota.SingletonHard(snap, c.Namespace, scope)
		if !isClamped(c) || len(hard) == 0 || busy[quota.Key{Namespace: c.Namespace, Scope: scope}] {
			continue
		}
		d := corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: hard, ScopeSelector: c.Spec.ScopeSelector}}
		if !refusesWhatFits(snap, c, d) {
			continue
		}
		upd := c.DeepCopy()
		upd.Spec.Hard = hard
		delete(upd.Annotations, AnnotationClampedAt)
		out = append(out, *upd)
	}
	return out
}

// clampBusy is how long a reservation unsettled at its singleton's version
// keeps a clamp in place (KeepClamps's busy): a batch's retry commits in
// milliseconds, so one still unsettled after this is no retry in flight,
// and the clamp must not refuse what fits while the reservation waits for
// settle.
const clampBusy = StatusBatch

// busy returns the keys of root's tree that hold a reservation unsettled
// at their singleton's version, found so for less than clampBusy (settle
// has remembered since when).
func (r *Reconciler) busy(root string, unsettled []quota.Key) map[quota.Key]bool {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[quota.Key]bool{}
	for _, k := range unsettled {
		if seen, ok := r.unsettled[root][k]; !ok || now.Sub(seen.since) < clampBusy {
			out[k] = true
		}
	}
	return out
}

// ClampSettle is how long a writer that lowered or lifted a clamp waits
// for the API server's quota informer to see it: the API server decides
// from that informer, at once.
const ClampSettle = 150 * time.Millisecond

// liftsClamp reports whether the plan updates a clamped singleton of
// existing (every update drops AnnotationClampedAt).
func liftsClamp(existing map[string][]corev1.ResourceQuota, p SingletonPlan) bool {
	for _, u := range p.Update {
		for _, rq := range existing[u.Namespace] {
			if rq.Name == u.Name && isClamped(rq) {
				return true
			}
		}
	}
	return false
}

// sleep waits d, or until ctx ends.
func (r *Reconciler) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func isClamped(rq corev1.ResourceQuota) bool {
	_, ok := rq.Annotations[AnnotationClampedAt]
	return ok
}

// clampStep is how far above a clamp refusesWhatFits asks for room: a
// milli-unit, so that any room at all counts (object counts and their
// limits are whole numbers).
var clampStep = resource.MustParse("1m")

// refusesWhatFits reports whether the tree would admit the namespace's usage
// of some resource the existing singleton clamps below desired growing past
// the clamp.
func refusesWhatFits(snap *quota.Snapshot, existing, desired corev1.ResourceQuota) bool {
	scope := quota.ScopeKey(desired.Spec.ScopeSelector)
	for k, h := range existing.Spec.Hard {
		want, ok := desired.Spec.Hard[k]
		if !ok || h.Cmp(want) >= 0 {
			continue
		}
		next := snap.Usage(existing.Namespace, scope)
		if next == nil {
			next = corev1.ResourceList{}
		}
		more := h.DeepCopy()
		more.Add(clampStep)
		next[quota.CanonicalName(k)] = more
		if quota.Decide(snap, existing.Namespace, scope, next) == nil {
			return true
		}
	}
	return false
}

// WriteHard writes rq, an existing singleton with its spec (hard, labels,
// annotations) set as wanted: first status.hard, where the API server's
// quota admission reads hard, then the object. Writing status first leaves
// kube-controller-manager nothing to copy when it resyncs the quota for its
// new spec.hard, so it writes the singleton only if its usage differs (see
// the comment above AnnotationClampedAt). A singleton whose status the
// controller has not filled yet gets its spec only. rq's resourceVersion is
// the precondition of both writes; on return rq holds the written object.
func WriteHard(ctx context.Context, c client.Client, rq *corev1.ResourceQuota) error {
	if rq.Status.Hard != nil && !apiequality.Semantic.DeepEqual(rq.Status.Hard, rq.Spec.Hard) {
		st := rq.DeepCopy()
		st.Status.Hard = rq.Spec.Hard.DeepCopy()
		if err := c.Status().Update(ctx, st); err != nil {
			return fmt.Errorf("writing status.hard of quota singleton %s: %w", klog.KObj(rq), err)
		}
		rq.ResourceVersion = st.ResourceVersion
	}
	return c.Update(ctx, rq)
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
