package forest

import (
	"maps"
	"slices"
	"sort"
	"strconv"

	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// Parent returns the parent, or nil for a root (or a nil namespace).
func (ns *Namespace) Parent() *Namespace {
	if ns == nil {
		return nil
	}
	return ns.parent
}

// SetParent makes p the parent of ns (nil makes ns a root) and reports
// whether the parent changed. It accepts any parent, even one that closes a
// cycle, because the API may already hold one; CycleNames then reports it.
// An old parent that does not exist and has no other use is forgotten.
func (ns *Namespace) SetParent(p *Namespace) bool {
	old := ns.parent
	if old == p {
		return false
	}
	if old != nil {
		delete(old.children, ns.name)
	}
	ns.parent = p
	ns.forest.structure++
	if p != nil {
		if p.children == nil {
			p.children = map[string]*Namespace{}
		}
		p.children[ns.name] = ns
	}
	ns.forest.forget(old)
	return true
}

// ChildNames returns the sorted names of the direct children.
func (ns *Namespace) ChildNames() []string {
	if ns == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(ns.children))
}

// selfAndAncestors returns ns, its parent, its grandparent and so on,
// stopping before any namespace would repeat (so at most one lap of a
// cycle). It costs O(depth).
func (ns *Namespace) selfAndAncestors() []*Namespace {
	if ns == nil {
		return nil
	}
	mark := ns.forest.nextMark()
	var out []*Namespace
	for anc := ns; anc != nil && anc.mark != mark; anc = anc.parent {
		anc.mark = mark
		out = append(out, anc)
	}
	return out
}

// AncestryNames returns the names from the root down to ns itself. If the
// walk up meets a cycle it stops before repeating a name, so the first name
// is the last new namespace found. O(depth).
func (ns *Namespace) AncestryNames() []string {
	chain := ns.selfAndAncestors()
	out := make([]string, len(chain))
	for i, anc := range chain {
		out[len(chain)-1-i] = anc.name
	}
	return out
}

// Depth is the number of ancestors above ns (0 for a root), counting each
// member of a cycle once.
func (ns *Namespace) Depth() int {
	if ns == nil {
		return 0
	}
	return len(ns.selfAndAncestors()) - 1
}

// CycleNames returns the members of the cycle ns belongs to, or nil if it is
// not in one (a namespace below a cycle is not in it). Every member returns
// the same list: it starts at the lexicographically smallest name and each
// name is the parent of the next, the last being the parent of the first.
func (ns *Namespace) CycleNames() []string {
	if ns == nil {
		return nil
	}
	chain := ns.selfAndAncestors()
	last := chain[len(chain)-1]
	if last.parent != ns {
		return nil
	}
	// chain runs child to parent; reverse it so each name is the parent of
	// the next, then rotate so the smallest name comes first.
	names := make([]string, len(chain))
	smallest := 0
	for i, anc := range chain {
		names[len(chain)-1-i] = anc.name
	}
	for i, nm := range names {
		if nm < names[smallest] {
			smallest = i
		}
	}
	return append(names[smallest:], names[:smallest]...)
}

// IsAncestor reports whether other is a strict ancestor of ns (HNC's
// argument order: ns.IsAncestor(other) asks "is other above ns?"). In a
// cycle every member is an ancestor of every member, itself included.
func (ns *Namespace) IsAncestor(other *Namespace) bool {
	if ns == nil || other == nil {
		return false
	}
	for _, anc := range ns.parent.selfAndAncestors() {
		if anc == other {
			return true
		}
	}
	return false
}

// WouldCreateCycle reports whether making p the parent of ns would put ns in
// a cycle, i.e. whether p is ns or one of its descendants.
func (ns *Namespace) WouldCreateCycle(p *Namespace) bool {
	return p != nil && (p == ns || p.IsAncestor(ns))
}

// DescendantNames returns the sorted names of all namespaces below ns, at
// every level. It visits only the subtree (O(subtree)), and never lists ns
// itself, even when ns is in a cycle. Propagation uses it to find the
// namespaces affected by a change to a source object in ns.
func (ns *Namespace) DescendantNames() []string {
	if ns == nil {
		return nil
	}
	var out []string
	mark := ns.forest.nextMark()
	ns.mark = mark
	stack := []*Namespace{ns}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, ch := range cur.children {
			if ch.mark == mark {
				continue
			}
			ch.mark = mark
			out = append(out, ch.name)
			stack = append(stack, ch)
		}
	}
	sort.Strings(out)
	return out
}

// labelChain returns ns and the ancestors whose tree labels and managed
// metadata apply to it, nearest first. Like HNC, the walk includes a
// halted namespace and then stops above it, and it stops at the first
// member of a cycle, so a namespace in a cycle sees only itself.
func (ns *Namespace) labelChain() []*Namespace {
	chain := ns.selfAndAncestors()
	if len(chain) == 0 {
		return nil
	}
	// If the walk ended because the next parent was already visited, that
	// parent is where the cycle begins: keep the chain up to it.
	if entry := chain[len(chain)-1].parent; entry != nil {
		for i, anc := range chain {
			if anc == entry {
				chain = chain[:i+1]
				break
			}
		}
	}
	for i, anc := range chain {
		if anc.IsHalted() {
			return chain[:i+1]
		}
	}
	return chain
}

// TreeLabels returns the tree labels the Namespace object should carry:
// "<ancestor>.tree.hnc.x-k8s.io/depth" = "<distance>" for itself ("0") and
// each ancestor. The walk stops at a halted ancestor (after labelling it)
// and at a cycle, so a member of a cycle carries only its own label.
func (ns *Namespace) TreeLabels() map[string]string {
	if ns == nil {
		return nil
	}
	chain := ns.labelChain()
	out := make(map[string]string, len(chain))
	for depth, anc := range chain {
		out[anc.name+api.LabelTreeDepthSuffix] = strconv.Itoa(depth)
	}
	return out
}
