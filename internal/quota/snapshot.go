package quota

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Kinds of quota the engine enforces.
const (
	KindHierarchicalResourceQuota = "HierarchicalResourceQuota"
	KindHierarchicalQuota         = "HierarchicalQuota"
)

// Tree gives the parent of every known namespace; a root maps to "". It is a
// plain map so that the forest package, or a test, can hand it over without
// this package depending on either.
type Tree map[string]string

// Key identifies usage: a namespace and a scope key ("" for unscoped).
type Key struct {
	Namespace string
	Scope     string
}

// Usage is usage per (namespace, scope key), as the ResourceQuota singletons
// report it.
type Usage map[Key]corev1.ResourceList

// Quota is one HierarchicalResourceQuota or HierarchicalQuota, reduced to
// what the engine needs.
type Quota struct {
	Kind      string
	Namespace string
	Name      string
	// Hard limits the sum of usage over Namespace and its descendants.
	Hard corev1.ResourceList
	// Allocations cap the subtrees rooted at their keys (HierarchicalQuota
	// only); the rest of Hard is shared by everything else.
	Allocations map[string]corev1.ResourceList
	// ScopeKey selects the usage counted, from ScopeKey; "" is unscoped.
	ScopeKey string
}

func (q Quota) deepCopy() Quota {
	out := q
	out.Hard = q.Hard.DeepCopy()
	if q.Allocations != nil {
		out.Allocations = make(map[string]corev1.ResourceList, len(q.Allocations))
		for k, l := range q.Allocations {
			out.Allocations[k] = l.DeepCopy()
		}
	}
	return out
}

// Ref names the quota in messages: `HierarchicalQuota "q" in namespace "p"`.
func (q Quota) Ref() string {
	return q.Kind + " " + quoted(q.Name) + " in namespace " + quoted(q.Namespace)
}

// Snapshot is an immutable view of a tree, its quotas and its usage, with
// the subtree totals precomputed so that a decision costs O(depth).
type Snapshot struct {
	parent Tree
	quotas map[string][]*quotaView
	usage  Usage
	// totals is the normalised usage summed over each namespace's subtree,
	// by namespace then scope key.
	totals map[string]map[string]corev1.ResourceList
}

// quotaView is a Quota with what its remainder pool needs, precomputed.
type quotaView struct {
	Quota
	// restLimit is Hard minus every allocation, for the names some
	// allocation names.
	restLimit corev1.ResourceList
	// restUsed is the quota's subtree usage outside the outermost allocated
	// subtrees, for the names in restLimit, keyed like Hard.
	restUsed corev1.ResourceList
}

// NewSnapshot builds a Snapshot. Inputs are copied; usage is normalised.
// Namespaces that appear in quotas or usage but not in tree are treated as
// roots.
func NewSnapshot(tree Tree, quotas []Quota, usage Usage) *Snapshot {
	parent := make(Tree, len(tree))
	for ns, p := range tree {
		parent[ns] = p
	}
	byNS := map[string][]Quota{}
	for _, q := range quotas {
		byNS[q.Namespace] = append(byNS[q.Namespace], q.deepCopy())
	}
	for _, qs := range byNS {
		slices.SortFunc(qs, func(a, b Quota) int {
			return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
		})
	}
	s := &Snapshot{parent: parent}
	s.setUsage(usage, byNS)
	return s
}

// WithUsage returns a snapshot with the same tree and quotas and new usage.
func (s *Snapshot) WithUsage(usage Usage) *Snapshot {
	byNS := make(map[string][]Quota, len(s.quotas))
	for ns, vs := range s.quotas {
		for _, v := range vs {
			byNS[ns] = append(byNS[ns], v.Quota)
		}
	}
	out := &Snapshot{parent: s.parent}
	out.setUsage(usage, byNS)
	return out
}

func (s *Snapshot) setUsage(usage Usage, byNS map[string][]Quota) {
	s.usage = make(Usage, len(usage))
	for k, l := range usage {
		s.usage[k] = Normalize(l)
	}
	s.totals = s.computeTotals()
	s.quotas = make(map[string][]*quotaView, len(byNS))
	for ns, qs := range byNS {
		for _, q := range qs {
			s.quotas[ns] = append(s.quotas[ns], s.view(q))
		}
	}
}

// computeTotals sums usage bottom-up: deepest namespaces first, each adding
// its subtree total into its parent's.
func (s *Snapshot) computeTotals() map[string]map[string]corev1.ResourceList {
	totals := map[string]map[string]corev1.ResourceList{}
	for k, l := range s.usage {
		byScope := totals[k.Namespace]
		if byScope == nil {
			byScope = map[string]corev1.ResourceList{}
			totals[k.Namespace] = byScope
		}
		byScope[k.Scope] = l.DeepCopy()
	}
	// Every namespace on a path from a namespace with usage to its root,
	// with its depth (roots are 1).
	depth := map[string]int{}
	for ns := range totals {
		s.depth(ns, depth)
	}
	order := make([]string, 0, len(depth))
	for ns := range depth {
		order = append(order, ns)
	}
	slices.SortFunc(order, func(a, b string) int {
		return cmp.Or(cmp.Compare(depth[b], depth[a]), cmp.Compare(a, b))
	})
	for _, ns := range order {
		p := s.parentOf(ns)
		if p == "" || totals[ns] == nil {
			continue
		}
		pt := totals[p]
		if pt == nil {
			pt = map[string]corev1.ResourceList{}
			totals[p] = pt
		}
		for scope, l := range totals[ns] {
			if pt[scope] == nil {
				pt[scope] = corev1.ResourceList{}
			}
			addInto(pt[scope], l)
		}
	}
	return totals
}

// parentOf is the parent of ns, "" for roots and unknown namespaces.
func (s *Snapshot) parentOf(ns string) string {
	return s.parent[ns]
}

// depth records in memo the depth of ns and of each of its ancestors (a
// root has depth 1) and returns that of ns.
func (s *Snapshot) depth(ns string, memo map[string]int) int {
	if d, ok := memo[ns]; ok {
		return d
	}
	// Walk up to the root or to the first namespace already known.
	path := []string{ns}
	base := 0
	for p := s.parentOf(ns); p != "" && len(path) <= len(s.parent); p = s.parentOf(p) {
		if d, ok := memo[p]; ok {
			base = d
			break
		}
		path = append(path, p)
	}
	for i := len(path) - 1; i >= 0; i-- {
		base++
		memo[path[i]] = base
	}
	return memo[ns]
}

// Ancestry returns ns followed by its ancestors up to the root. The tree
// must be acyclic (the forest guarantees it); a cycle in a malformed tree
// still cannot loop, as the walk stops after as many steps as there are
// namespaces.
func (t Tree) Ancestry(ns string) []string {
	out := []string{ns}
	for p := t[ns]; p != "" && len(out) <= len(t); p = t[p] {
		out = append(out, p)
	}
	return out
}

// ancestry is the snapshot tree's Ancestry.
func (s *Snapshot) ancestry(ns string) []string { return s.parent.Ancestry(ns) }

// isStrictDescendant reports whether ns lies strictly below root.
func (s *Snapshot) isStrictDescendant(ns, root string) bool {
	if ns == root {
		return false
	}
	return slices.Contains(s.ancestry(ns)[1:], root)
}

// total returns the subtree usage of ns under scope (normalised, shared:
// callers must not modify it).
func (s *Snapshot) total(ns, scope string) corev1.ResourceList {
	return s.totals[ns][scope]
}

// view precomputes the remainder pool of q.
func (s *Snapshot) view(q Quota) *quotaView {
	v := &quotaView{Quota: q, restLimit: corev1.ResourceList{}, restUsed: corev1.ResourceList{}}
	if len(q.Allocations) == 0 {
		return v
	}
	keys := sortedKeys(q.Allocations)
	total := s.total(q.Namespace, q.ScopeKey)
	for r, h := range q.Hard {
		limit := h.DeepCopy()
		var naming []string
		for _, k := range keys {
			if a, ok := q.Allocations[k][r]; ok {
				limit.Sub(a)
				naming = append(naming, k)
			}
		}
		if len(naming) == 0 {
			continue
		}
		used := Lookup(total, r)
		for _, k := range naming {
			if !s.isStrictDescendant(k, q.Namespace) || s.underAnother(k, q.Namespace, naming) {
				continue
			}
			kt := Lookup(s.total(k, q.ScopeKey), r)
			used.Sub(kt)
		}
		v.restLimit[r] = limit
		v.restUsed[r] = used
	}
	return v
}

// underAnother reports whether k lies strictly below another of keys that is
// itself strictly below root.
func (s *Snapshot) underAnother(k, root string, keys []string) bool {
	for _, a := range s.ancestry(k)[1:] {
		if a == root {
			return false
		}
		if slices.Contains(keys, a) {
			return true
		}
	}
	return false
}

// Quotas returns copies of the quotas on ns, sorted by kind and name.
func (s *Snapshot) Quotas(ns string) []Quota {
	out := make([]Quota, 0, len(s.quotas[ns]))
	for _, v := range s.quotas[ns] {
		out = append(out, v.deepCopy())
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func quoted(s string) string {
	return `"` + s + `"`
}
