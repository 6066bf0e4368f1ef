package quota

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Moved is what a move carries: the subtree rooted at Root, its
// namespaces' parents (Root's own is replaced by the move), the quotas on
// its namespaces and their usage. Quotas inside the subtree move with it
// and keep their totals; a move only adds the subtree's usage to the
// quotas of its new ancestry.
type Moved struct {
	Root   string
	Tree   Tree
	Quotas []Quota
	Usage  Usage
}

// Subtree is the part of s rooted at root, as a move would carry it.
func (s *Snapshot) Subtree(root string) Moved {
	m := Moved{Root: root, Tree: Tree{}, Usage: Usage{}}
	for ns, p := range s.parent {
		if ns == root || s.isStrictDescendant(ns, root) {
			m.Tree[ns] = p
		}
	}
	for ns, vs := range s.quotas {
		if _, in := m.Tree[ns]; in {
			for _, v := range vs {
				m.Quotas = append(m.Quotas, v.Quota)
			}
		}
	}
	for k, l := range s.usage {
		if _, in := m.Tree[k.Namespace]; in {
			m.Usage[k] = l
		}
	}
	return m
}

// Names lists, per scope key, the resource names that quotas limit (their
// hard and their allocations): given the quotas on a namespace and its
// ancestors, what a subtree moved under it must have counted.
func Names(quotas []Quota) map[string][]string {
	seen := map[string]map[string]bool{}
	for _, q := range quotas {
		if seen[q.ScopeKey] == nil {
			seen[q.ScopeKey] = map[string]bool{}
		}
		for r := range Normalize(q.Hard) {
			seen[q.ScopeKey][string(r)] = true
		}
		for _, l := range q.Allocations {
			for r := range Normalize(l) {
				seen[q.ScopeKey][string(r)] = true
			}
		}
	}
	out := make(map[string][]string, len(seen))
	for scope, names := range seen {
		out[scope] = slices.Sorted(maps.Keys(names))
	}
	return out
}

// MoveError is a refused move: with the subtree under its new parent, a
// pool of Quota would be over its limit, or further over it than before.
type MoveError struct {
	Namespace, Parent string
	Quota             Quota
	Over              Overage
}

func (e *MoveError) Error() string {
	return fmt.Sprintf("moving namespace %q under %q would exceed %s: %s", e.Namespace, e.Parent, e.Quota.Ref(), e.Over)
}

// DecideMove judges moving m under parent, a namespace of s's tree. s
// holds the destination tree with the usage readers decide with; for a
// move within one tree it holds m's namespaces too, where they are now.
// Every quota of s outside m is judged with m under parent: a pool over
// its limit after the move must have been over it before, by at least as
// much for every resource, so a move never takes a quota over its limit
// (nor one already over further over it), and a move out of an allocated
// subtree is judged against the pool it enters. It returns nil or the
// first breach, quotas sorted by namespace, kind and name, as a
// *MoveError.
func DecideMove(s *Snapshot, m Moved, parent string) error {
	tree := maps.Clone(s.parent)
	usage := maps.Clone(s.usage)
	var kept []Quota
	for ns, vs := range s.quotas {
		if _, in := m.Tree[ns]; in {
			continue
		}
		for _, v := range vs {
			kept = append(kept, v.Quota)
		}
	}
	for k := range usage {
		if _, in := m.Tree[k.Namespace]; in {
			delete(usage, k)
		}
	}
	maps.Copy(tree, m.Tree)
	maps.Copy(usage, m.Usage)
	tree[m.Root] = parent
	after := NewSnapshot(tree, append(slices.Clone(kept), m.Quotas...), usage)
	slices.SortFunc(kept, func(a, b Quota) int {
		return strings.Compare(a.Namespace+"/"+a.Kind+"/"+a.Name, b.Namespace+"/"+b.Kind+"/"+b.Name)
	})
	for _, q := range kept {
		before := OverLimit(s, q)
		for _, o := range OverLimit(after, q) {
			if worse(o, before) {
				return &MoveError{Namespace: m.Root, Parent: parent, Quota: q, Over: o}
			}
		}
	}
	return nil
}

// worse reports whether o, a pool over its limit after a move, was not
// over before it, or uses more of some resource than before.
func worse(o Overage, before []Overage) bool {
	for _, b := range before {
		if b.Pool != o.Pool {
			continue
		}
		for r, u := range o.Used {
			if prev, ok := b.Used[r]; !ok || u.Cmp(prev) > 0 {
				return true
			}
		}
		return false
	}
	return true
}
