package quota

import (
	"context"
	"sync"
	"sync/atomic"

	toolscache "k8s.io/client-go/tools/cache"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// Covers keeps the cover (quota.Cover) of each namespace and scope an
// admission within a grant was checked for, so that the common admission
// does not list the quotas on its namespace's ancestry from the cache and
// build the cover again on every call (most of the grant check's time in
// the benchmark's profile).
//
// A cover depends on the tree's structure and on the quotas on the
// ancestry, nothing else. An entry is used only while both are what they
// were when it was built: the forest's structure version (TreeView) and
// Covers' generation, which every event of the HierarchicalResourceQuota
// and HierarchicalQuota informers advances (Handler). The generation is
// read before the cache, and an informer's handlers run after its store
// has the change, so an entry is never older than a fresh read of the
// cache would be.
type Covers struct {
	gen atomic.Uint64
	mu  sync.Mutex
	m   map[quota.Key]coverEntry
}

type coverEntry struct {
	structure, gen uint64
	cover          string
}

// maxCovers bounds Covers: it forgets everything when full.
const maxCovers = 1 << 14

// Handler advances the generation on every event of the informer it is
// added to.
func (c *Covers) Handler() toolscache.ResourceEventHandler {
	bump := func() { c.gen.Add(1) }
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { bump() },
		UpdateFunc: func(any, any) { bump() },
		DeleteFunc: func(any) { bump() },
	}
}

// coverOf is quota.Cover of key's namespace and scope in the tree v, from
// h.Covers when it holds one built at v's structure and the current
// generation. A tree not from a TreeCache (no structure version) is
// always read afresh.
func (h *StatusHandler) coverOf(ctx context.Context, v ctrlquota.TreeView, key quota.Key) (string, error) {
	c := h.Covers
	structure := v.Version()
	if c == nil || structure == 0 {
		return h.freshCover(ctx, v, key)
	}
	gen := c.gen.Load()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.structure == structure && e.gen == gen {
		return e.cover, nil
	}
	cover, err := h.freshCover(ctx, v, key)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCovers {
		c.m = map[quota.Key]coverEntry{}
	}
	c.m[key] = coverEntry{structure: structure, gen: gen, cover: cover}
	c.mu.Unlock()
	return cover, nil
}

// freshCover builds key's cover from the quotas the cache holds.
func (h *StatusHandler) freshCover(ctx context.Context, v ctrlquota.TreeView, key quota.Key) (string, error) {
	quotas, err := h.pathQuotas(ctx, v, key.Namespace)
	if err != nil {
		return "", err
	}
	return quota.Cover(v.Tree, quotas, key.Namespace, key.Scope), nil
}
