package quota

import (
	"cmp"
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
// parent) and the same quotas as the engine sees them (kind, place, name,
// scope, hard and allocations; a quota being deleted no longer counts);
// anything else rebuilds it. A quota's resourceVersion is not compared: an
// HRQ's status is written with the object (every second in a busy tree),
// and a rebuild per admission cost O(tree) at 3,000 namespaces. Snapshots are immutable, so callers share them.
type SnapshotCache struct {
	mu     sync.Mutex
	byRoot map[string]*cachedSnapshot
}

type cachedSnapshot struct {
	tree quota.Tree
	// version is the forest structure version of the tree, if known.
	version uint64
	quotas  []quota.Quota
	snap    *quota.Snapshot
	// rvs is the resourceVersion of each singleton counted, and vs the
	// same parsed; both are replaced, never modified, once shared.
	rvs map[quota.Key]string
	vs  quota.Versions
	// fed says the singletons came from a SingletonFeed, current at its
	// change seq.
	fed bool
	seq uint64
}

// Snapshot returns the snapshot and singleton versions of the tree, as
// NewSnapshot(v.Tree, tq.Engine(), ActualUsage(singletons)) and
// ObservedVersions(singletons) would.
func (c *SnapshotCache) Snapshot(v TreeView, tq TreeQuotas, singletons map[string][]corev1.ResourceQuota) (*quota.Snapshot, quota.Versions) {
	qs := engineSorted(tq)
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.byRoot[v.Root]
	if cur == nil || !sameTree(cur, v) || !slices.EqualFunc(cur.quotas, qs, sameQuota) {
		cur = c.rebuild(v, qs, singletons)
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
	next := &cachedSnapshot{tree: cur.tree, version: cur.version, quotas: cur.quotas, snap: cur.snap.Patched(over), rvs: now, vs: ObservedVersions(singletons)}
	c.byRoot[v.Root] = next
	return next.snap, next.vs
}

// SnapshotFed is Snapshot with the singletons read from feed, which must
// have synced: a snapshot cached from the feed is patched with the
// singletons of the tree's namespaces that changed since, so an admission
// costs O(changes) rather than a List of every singleton.
func (c *SnapshotCache) SnapshotFed(v TreeView, tq TreeQuotas, feed *SingletonFeed) (*quota.Snapshot, quota.Versions) {
	qs := engineSorted(tq)
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.byRoot[v.Root]
	if cur != nil && cur.fed && sameTree(cur, v) && slices.EqualFunc(cur.quotas, qs, sameQuota) {
		changed, now, ok := feed.ChangedSince(cur.seq, v.Contains)
		if ok {
			next := cur.patchedWith(changed)
			next.seq = now
			c.byRoot[v.Root] = next
			return next.snap, next.vs
		}
	}
	singletons, now := feed.Read(v.Namespaces)
	cur = c.rebuild(v, qs, singletons)
	cur.fed, cur.seq = true, now
	return cur.snap, cur.vs
}

// rebuild builds and caches the tree's snapshot from all its singletons.
func (c *SnapshotCache) rebuild(v TreeView, qs []quota.Quota, singletons map[string][]corev1.ResourceQuota) *cachedSnapshot {
	cur := &cachedSnapshot{
		tree:    v.Tree,
		version: v.version,
		quotas:  qs,
		snap:    quota.NewSnapshot(v.Tree, qs, ActualUsage(singletons)),
		rvs:     singletonVersions(singletons),
		vs:      ObservedVersions(singletons),
	}
	if c.byRoot == nil {
		c.byRoot = map[string]*cachedSnapshot{}
	}
	c.byRoot[v.Root] = cur
	return cur
}

// patchedWith returns cur with the singletons of the namespaces in changed
// (all of each one's, none for a namespace left with none) in place of
// those it counted there. cur itself is not modified.
func (cur *cachedSnapshot) patchedWith(changed map[string][]corev1.ResourceQuota) *cachedSnapshot {
	next := *cur
	if len(changed) == 0 {
		return &next
	}
	now := singletonVersions(changed)
	over := quota.Usage{}
	for k, rv := range now {
		if cur.rvs[k] != rv {
			over[k] = usedOf(changed, k)
		}
	}
	var gone []quota.Key
	for k := range cur.rvs {
		if _, in := changed[k.Namespace]; in {
			if _, ok := now[k]; !ok {
				over[k] = corev1.ResourceList{}
				gone = append(gone, k)
			}
		}
	}
	if len(over) == 0 {
		return &next
	}
	next.rvs, next.vs = maps.Clone(cur.rvs), maps.Clone(cur.vs)
	for k, rv := range now {
		next.rvs[k], next.vs[k] = rv, quota.ParseRV(rv)
	}
	for _, k := range gone {
		delete(next.rvs, k)
		delete(next.vs, k)
	}
	next.snap = cur.snap.Patched(over)
	return &next
}

// engineSorted is tq's engine quotas in a fixed order.
func engineSorted(tq TreeQuotas) []quota.Quota {
	qs := tq.Engine()
	slices.SortFunc(qs, func(a, b quota.Quota) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return qs
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

// sameTree reports whether v is the tree cur was built for: at once when
// both come from a TreeCache at the same forest structure, else by
// comparing every namespace and parent.
func sameTree(cur *cachedSnapshot, v TreeView) bool {
	if cur.version != 0 && cur.version == v.version {
		return true
	}
	return maps.Equal(cur.tree, v.Tree)
}

// sameQuota reports whether two quotas limit the same usage the same way.
func sameQuota(a, b quota.Quota) bool {
	if a.Kind != b.Kind || a.Namespace != b.Namespace || a.Name != b.Name || a.ScopeKey != b.ScopeKey ||
		!quota.Same(a.Hard, b.Hard) || len(a.Allocations) != len(b.Allocations) {
		return false
	}
	for k, l := range a.Allocations {
		m, ok := b.Allocations[k]
		if !ok || !quota.Same(l, m) {
			return false
		}
	}
	return true
}
