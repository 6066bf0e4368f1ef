package quota

import (
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/canopyhq/canopy/internal/quota"
)

// SnapshotCache keeps, per tree, the last snapshot admission built, so that
// the next admission patches in the few singletons whose resourceVersion
// changed instead of building the whole tree's snapshot again. A cached
// snapshot is reused only for exactly the same tree (every namespace and
// parent) and the same quota objects (by resourceVersion); anything else
// rebuilds it. Snapshots are immutable, so callers share them.
type SnapshotCache struct {
	mu     sync.Mutex
	byRoot map[string]*cachedSnapshot
}

type cachedSnapshot struct {
	tree   quota.Tree
	quotas []string
	snap   *quota.Snapshot
	// rvs is the resourceVersion of each singleton counted, and vs the
	// same parsed; both are replaced, never modified, once shared.
	rvs map[quota.Key]string
	vs  quota.Versions
}

// Snapshot returns the snapshot and singleton versions of the tree, as
// NewSnapshot(v.Tree, tq.Engine(), ActualUsage(singletons)) and
// ObservedVersions(singletons) would.
func (c *SnapshotCache) Snapshot(v TreeView, tq TreeQuotas, singletons map[string][]corev1.ResourceQuota) (*quota.Snapshot, quota.Versions) {
	qs := quotaVersions(tq)
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.byRoot[v.Root]
	if cur == nil || !maps.Equal(cur.tree, v.Tree) || !slices.Equal(cur.quotas, qs) {
		cur = &cachedSnapshot{
			tree:   v.Tree,
			quotas: qs,
			snap:   quota.NewSnapshot(v.Tree, tq.Engine(), ActualUsage(singletons)),
			rvs:    singletonVersions(singletons),
			vs:     ObservedVersions(singletons),
		}
		if c.byRoot == nil {
			c.byRoot = map[string]*cachedSnapshot{}
		}
		c.byRoot[v.Root] = cur
		return cur.snap, cur.vs
	}
	now := singletonVersions(singletons)
	over := quota.Usage{}
	for k, rv := range now {
		if cur.rvs[k] != rv {
			over[k] = usedOf(singletons, k)
		}
	}
	for k := range cur.rvs {
		if _, ok := now[k]; !ok {
			over[k] = corev1.ResourceList{}
		}
	}
	if len(over) == 0 {
		return cur.snap, cur.vs
	}
	next := &cachedSnapshot{tree: cur.tree, quotas: cur.quotas, snap: cur.snap.Patched(over), rvs: now, vs: ObservedVersions(singletons)}
	c.byRoot[v.Root] = next
	return next.snap, next.vs
}

// singletonVersions is the resourceVersion of every singleton whose status
// the API server has filled, keyed like ActualUsage.
func singletonVersions(singletons map[string][]corev1.ResourceQuota) map[quota.Key]string {
	out := map[quota.Key]string{}
	for ns, rqs := range singletons {
		for _, rq := range rqs {
			if rq.Status.Used != nil {
				out[quota.Key{Namespace: ns, Scope: quota.ScopeKey(rq.Spec.ScopeSelector)}] = rq.ResourceVersion
			}
		}
	}
	return out
}

func usedOf(singletons map[string][]corev1.ResourceQuota, k quota.Key) corev1.ResourceList {
	for _, rq := range singletons[k.Namespace] {
		if rq.Status.Used != nil && quota.ScopeKey(rq.Spec.ScopeSelector) == k.Scope {
			return rq.Status.Used
		}
	}
	return corev1.ResourceList{}
}

// quotaVersions identifies the quota objects: kind, namespace, name,
// resourceVersion and whether it is being deleted, sorted.
func quotaVersions(tq TreeQuotas) []string {
	out := make([]string, 0, len(tq.HRQs)+len(tq.HQs))
	for i := range tq.HRQs {
		h := &tq.HRQs[i]
		out = append(out, "hrq/"+h.Namespace+"/"+h.Name+"/"+h.ResourceVersion+"/"+deleting(h.DeletionTimestamp.IsZero()))
	}
	for i := range tq.HQs {
		q := &tq.HQs[i]
		out = append(out, "hq/"+q.Namespace+"/"+q.Name+"/"+q.ResourceVersion+"/"+deleting(q.DeletionTimestamp.IsZero()))
	}
	slices.Sort(out)
	return out
}

func deleting(zero bool) string {
	if zero {
		return "live"
	}
	return "deleting"
}
