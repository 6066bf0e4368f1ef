package quota

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/metrics"
	"github.com/canopyhq/canopy/internal/quota"
)

// unclamp lifts, before a recount that lowers next's usage is allowed, the
// clamps of next's tree that the room it frees leaves refusing what fits
// (ctrlquota.Unclamp), and waits clampSettle for the API server's quota
// informer to see them.
//
// A clamp is judged by the API server's quota admission before this
// webhook is asked, so a clamp left in place once room appears refuses
// creations that fit, and nothing in Canopy would see them. The leader
// lifts such clamps too, but only when it next reconciles the tree; a
// client that creates as soon as the deletion shows in a singleton's
// status.used came first. Lifting here, before the lowered usage commits,
// means that when any reader sees the room, no clamp refuses it.
//
// It is best effort: a singleton that changed since the cache read it
// conflicts and is left to the leader. Lifting early is safe, since this
// webhook still decides every admission on the tree's usage: a lifted clamp
// only lets the API server ask it. Trees without a clamp (every tree but
// one just filled by a batch) cost one look at the feed's few clamped
// singletons.
func (h *StatusHandler) unclamp(ctx context.Context, next *corev1.ResourceQuota) {
	if !h.Feed.Synced() {
		return
	}
	v := h.Trees.TreeOf(h.Forest, next.Namespace)
	clamped := h.Feed.Clamped(v.Contains)
	if len(clamped) == 0 {
		return
	}
	log := ctrl.LoggerFrom(ctx).WithValues("tree", v.Root)
	tq, err := ctrlquota.ReadQuotas(ctx, h.Cache, v)
	if err != nil {
		log.V(1).Info("Not lifting clamps", "reason", err.Error())
		return
	}
	stored, err := h.Ledgers.GetCached(ctx, v.Root)
	if err != nil {
		log.V(1).Info("Not lifting clamps", "reason", err.Error())
		return
	}
	singletons, _ := h.Feed.Read(v.Namespaces)
	usage, versions := ctrlquota.ActualUsage(singletons), ctrlquota.ObservedVersions(singletons)
	// The recount's usage, which commits once this returns.
	usage[quota.Key{Namespace: next.Namespace, Scope: quota.ScopeKey(next.Spec.ScopeSelector)}] = quota.Normalize(next.Status.Used)
	snap := quota.Effective(stored.Ledger, quota.NewSnapshot(v.Tree, tq.Engine(), usage), versions)
	busy := map[quota.Key]bool{}
	for _, k := range quota.Unsettled(stored.Ledger, versions) {
		busy[k] = true
	}
	lifted := 0
	for _, rq := range ctrlquota.Unclamp(clamped, snap, busy) {
		if h.lift(ctx, rq, snap, busy) {
			lifted++
		}
	}
	if lifted > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(clampSettle):
		}
	}
}

// liftAttempts bounds the writes one lift makes: a conflict means the
// cache was behind the singleton, which is read live and judged again.
const liftAttempts = 3

// lift writes rq, a clamped singleton with its clamp lifted (Unclamp),
// reporting whether a lift was written.
func (h *StatusHandler) lift(ctx context.Context, rq corev1.ResourceQuota, snap *quota.Snapshot, busy map[quota.Key]bool) bool {
	log := ctrl.LoggerFrom(ctx).WithValues("resourcequota", klog.KObj(&rq))
	for range liftAttempts {
		err := ctrlquota.WriteHard(ctx, h.Ledgers.Client, &rq)
		if err == nil {
			log.V(1).Info("Lifted the clamp of a quota singleton: a recount frees room", "hard", quota.String(rq.Spec.Hard))
			return true
		}
		if !ctrlquota.IsConflict(err) || h.Live == nil {
			log.V(1).Info("Not lifting a clamp", "reason", err.Error())
			return false
		}
		metrics.Conflict("quota-status-webhook", "resourcequotas")
		cur := &corev1.ResourceQuota{}
		if err := h.Live.Get(ctx, client.ObjectKeyFromObject(&rq), cur); err != nil {
			log.V(1).Info("Not lifting a clamp", "reason", err.Error())
			return false
		}
		again := ctrlquota.Unclamp([]corev1.ResourceQuota{*cur}, snap, busy)
		if len(again) == 0 {
			// Lifted meanwhile, or clamped again to what still fits.
			return false
		}
		rq = again[0]
	}
	log.V(1).Info("Not lifting a clamp: it kept changing")
	return false
}
