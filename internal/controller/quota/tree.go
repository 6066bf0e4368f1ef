package quota

import (
	"slices"

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
}

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
		return TreeView{Root: ns, Namespaces: []string{ns}, Tree: quota.Tree{ns: ""}}
	}
	root := n.AncestryNames()[0]
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
