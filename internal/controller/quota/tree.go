package quota

import (
	"slices"
	"sync"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
)

// TreeView is a copy of one tree of the forest, safe to use without the
// forest's lock.
type TreeView struct {
	// Root is the tree's root namespace (for a tree ending in a cycle, the
	// first namespace of the walk up).
	Root string
	// Namespaces lists the existing namespaces of the tree, sorted.
	Namespaces []string
	// Tree gives each namespace's parent, "" for the root. It holds the
	// root even when the root does not exist (a missing parent).
	Tree quota.Tree
	// version is the forest's StructureVersion the copy was taken at,
	// when it came from a TreeCache (0 otherwise).
	version uint64
}

// TreeCache keeps the last copy of each tree taken, for as long as the
// forest's structure does not change, so that an admission does not copy a
// large tree under the forest's lock every time. Views it returns are
// shared: callers must not modify them.
type TreeCache struct {
	mu     sync.Mutex
	byRoot map[string]TreeView
}

// TreeOf is TreeOf(f, ns), from the cache when the forest's structure has
// not changed since the tree was copied. A nil cache copies every time.
func (c *TreeCache) TreeOf(f *forest.Forest, ns string) TreeView {
	if c == nil {
		return TreeOf(f, ns)
	}
	f.Lock()
	defer f.Unlock()
	n := f.Lookup(ns)
	if n == nil {
		return loneTree(ns)
	}
	root := n.AncestryNames()[0]
	version := f.StructureVersion()
	c.mu.Lock()
	v, ok := c.byRoot[root]
	c.mu.Unlock()
	if ok && v.version == version {
		return v
	}
	v = treeOfLocked(f, root)
	v.version = version
	c.mu.Lock()
	if c.byRoot == nil || len(c.byRoot) > 1024 {
		// Trees of an older structure are dropped wholesale.
		c.byRoot = map[string]TreeView{}
	}
	c.byRoot[root] = v
	c.mu.Unlock()
	return v
}

// Version is the forest's StructureVersion the tree was copied at, when
// it came from a TreeCache; 0 otherwise.
func (v TreeView) Version() uint64 { return v.version }

// Contains reports whether ns belongs to the tree.
func (v TreeView) Contains(ns string) bool {
	_, ok := v.Tree[ns]
	return ok
}

// TreeOf copies the tree that ns belongs to. It takes the forest's lock for
// the copy only. A namespace the forest does not know is a tree of its own.
func TreeOf(f *forest.Forest, ns string) TreeView {
	f.Lock()
	defer f.Unlock()
	n := f.Lookup(ns)
	if n == nil {
		// Unknown to the forest: not loaded yet, or deleted. Look at the
		// namespace alone so that its singletons are still kept or removed.
		return loneTree(ns)
	}
	return treeOfLocked(f, n.AncestryNames()[0])
}

// loneTree is the view of a namespace the forest does not know: a tree of
// its own, so that its singletons are still kept or removed.
func loneTree(ns string) TreeView {
	return TreeView{Root: ns, Namespaces: []string{ns}, Tree: quota.Tree{ns: ""}}
}

// treeOfLocked copies the tree rooted at root; the caller holds the lock.
func treeOfLocked(f *forest.Forest, root string) TreeView {
	r := f.Lookup(root)
	names := append([]string{root}, r.DescendantNames()...)
	v := TreeView{Root: root, Tree: make(quota.Tree, len(names))}
	for _, name := range names {
		d := f.Lookup(name)
		p := ""
		if name != root {
			p = d.Parent().Name()
		}
		v.Tree[name] = p
		if d.Exists() {
			v.Namespaces = append(v.Namespaces, name)
		}
	}
	slices.Sort(v.Namespaces)
	return v
}

// RootOf returns the root of the tree ns belongs to.
func RootOf(f *forest.Forest, ns string) string {
	f.Lock()
	defer f.Unlock()
	n := f.Lookup(ns)
	if n == nil {
		return ns
	}
	return n.AncestryNames()[0]
}

// stableRoot returns the root of ns's tree when that root is its own root,
// with ok; a namespace in a cycle has no stable root (each member's walk up
// ends elsewhere), and an unknown one is its own.
func stableRoot(f *forest.Forest, ns string) (string, bool) {
	f.Lock()
	defer f.Unlock()
	n := f.Lookup(ns)
	if n == nil {
		return ns, true
	}
	root := n.AncestryNames()[0]
	if r := f.Lookup(root); r != nil && r.AncestryNames()[0] != root {
		return "", false
	}
	return root, true
}

// ParentOf gives each namespace's parent in f, "" for a root or a
// namespace f does not hold. Each call takes f's lock.
func ParentOf(f *forest.Forest) func(string) string {
	return func(ns string) string {
		f.Lock()
		defer f.Unlock()
		if p := f.Lookup(ns).Parent(); p != nil {
			return p.Name()
		}
		return ""
	}
}

// HierarchyVersionOf gives the version of each namespace's
// HierarchyConfiguration that f reflects, 0 without one: what settles a
// quota hold (quota.WithHolds). Each call takes f's lock.
func HierarchyVersionOf(f *forest.Forest) func(string) uint64 {
	return func(ns string) uint64 {
		f.Lock()
		defer f.Unlock()
		return f.Lookup(ns).HierarchyVersion()
	}
}
