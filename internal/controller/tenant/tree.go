package tenant

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/forest"
)

// TreeNode is one existing namespace of a tenant's tree as the forest saw it.
type TreeNode struct {
	Name   string
	Parent string
	// IsSub is whether the namespace is a subnamespace.
	IsSub bool
	// Anchored is whether its parent still holds its anchor.
	Anchored bool
	// Children counts the namespace's children the forest knows of,
	// including ones already deleted but not yet forgotten: an anchor is
	// deleted only once the forest agrees its namespace has no children.
	Children int
}

// ReadTree returns every existing namespace of the tree rooted at root, the
// root first, then the descendants in name order. The caller must hold the
// forest's lock.
func ReadTree(f *forest.Forest, root string) []TreeNode {
	r := f.Lookup(root)
	if !r.Exists() {
		return nil
	}
	node := func(ns *forest.Namespace) TreeNode {
		n := TreeNode{Name: ns.Name(), IsSub: ns.IsSub()}
		if p := ns.Parent(); p != nil {
			n.Parent = p.Name()
			n.Anchored = p.HasAnchor(n.Name)
		}
		n.Children = len(ns.ChildNames())
		return n
	}
	out := []TreeNode{node(r)}
	desc := r.DescendantNames()
	slices.Sort(desc)
	for _, d := range desc {
		if ns := f.Lookup(d); ns.Exists() {
			out = append(out, node(ns))
		}
	}
	return out
}

// Governed returns the part of tree the Tenant labels and governs: it
// leaves out a subnamespace whose anchor is missing, and everything below
// it. Only its subnamespace-of annotation puts such a namespace in the
// tree, and that may have been forged while Canopy was down, so it gets no
// tenant label, bindings or policies until a matching anchor exists. (A
// teardown still sees the whole tree: a subnamespace whose anchor it just
// deleted must be waited for.) tree is in ReadTree's order.
func Governed(tree []TreeNode) []TreeNode {
	node := make(map[string]TreeNode, len(tree))
	for _, n := range tree {
		node[n.Name] = n
	}
	unanchored := func(n TreeNode) bool { return n.IsSub && !n.Anchored && n.Parent != "" }
	out := make([]TreeNode, 0, len(tree))
	for i, n := range tree {
		keep := true
		// Up the chain to the root (the first node); at most len(tree)
		// steps, as a tree has no cycle.
		for cur, steps := n, 0; i > 0 && steps <= len(tree); steps++ {
			if unanchored(cur) {
				keep = false
				break
			}
			p, ok := node[cur.Parent]
			if !ok || p.Name == tree[0].Name {
				break
			}
			cur = p
		}
		if keep {
			out = append(out, n)
		}
	}
	return out
}

// Names returns the nodes' names.
func Names(tree []TreeNode) []string {
	out := make([]string, len(tree))
	for i, n := range tree {
		out[i] = n.Name
	}
	return out
}

// AnchorPlan is what to do about listed namespaces.
type AnchorPlan struct {
	// Create are anchors whose parent exists, so they can be applied now.
	Create []types.NamespacedName
	// Missing are listed namespaces that do not exist yet.
	Missing []string
	// Stale are generated anchors no longer listed.
	Stale []types.NamespacedName
}

// PlanAnchors decides which anchors to apply and which generated ones are
// stale. exists says whether a namespace exists; generated lists the anchors
// carrying this tenant's generated label.
func PlanAnchors(t *tenancyv1.Tenant, exists func(string) bool, generated []types.NamespacedName) AnchorPlan {
	var p AnchorPlan
	want := map[types.NamespacedName]bool{}
	for _, n := range t.Spec.Namespaces {
		key := types.NamespacedName{Namespace: ParentOf(t, n), Name: n.Name}
		want[key] = true
		if exists(key.Namespace) {
			p.Create = append(p.Create, key)
		}
		if !exists(n.Name) {
			p.Missing = append(p.Missing, n.Name)
		}
	}
	for _, g := range generated {
		if !want[g] {
			p.Stale = append(p.Stale, g)
		}
	}
	slices.SortFunc(p.Stale, func(a, b types.NamespacedName) int {
		return strings.Compare(a.String(), b.String())
	})
	return p
}

// Subtree returns name and every namespace below it in tree.
func Subtree(tree []TreeNode, name string) []string {
	children := map[string][]string{}
	for _, n := range tree {
		children[n.Parent] = append(children[n.Parent], n.Name)
	}
	out := []string{name}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// Leaves returns the namespaces of the tree other than the root that have
// no existing children: the ones a bottom-up teardown deletes next. When
// only the root is left, it returns nil.
func Leaves(tree []TreeNode, root string) []TreeNode {
	var out []TreeNode
	for _, n := range tree {
		if n.Name != root && n.Children == 0 {
			out = append(out, n)
		}
	}
	return out
}
