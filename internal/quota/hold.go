package quota

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// # Holds: a move's usage, from its judgement until the forests show it
//
// A move is judged when its HierarchyConfiguration is validated (DecideMove),
// but the destination's readers count the moved subtree only once their
// forest shows it there, after the API server has stored the change. In
// between, an admission in the destination could be decided without the
// subtree's usage and, with the move, take a quota over its limit. So the
// judgement records a Hold in the destination tree's ledger, with the same
// compare-and-swap as a reservation: any reservation written after it
// counts it, and any written before it made the judgement read again.
//
// A reader counts a hold (WithHolds) while its forest still shows the moved
// namespace under its old parent: the subtree's usage, per scope key, as a
// child of the new parent. For a move within one tree, whose readers already
// count the subtree under its old parent, the hold also takes that usage
// back at the deepest common ancestor: the quotas above both parents count
// the subtree once, those of the old branch still count it (the move may
// never be stored), and those it enters count it too. Once the
// reader's forest shows any other parent (the move, or a later one), the
// hold counts nothing: the subtree's own singletons count it. A move the
// API server never stored leaves the old parent in place; its hold stops
// counting after HoldMax, and the leader prunes it (PruneHolds).

// HoldMax is how long a hold counts at most, for a move that was judged but
// never stored; a stored move shows in every forest long before.
const HoldMax = 30 * time.Second

// holdSettle is how long the leader keeps a hold its forest shows settled,
// for the other replica's forest to show the move too.
const holdSettle = 10 * time.Second

// ledgerHoldPrefix keys a hold by its moved namespace: _hold.<namespace>.
const ledgerHoldPrefix = "_hold."

// Hold is a judged move's usage in its destination tree's ledger, keyed by
// the moved namespace.
type Hold struct {
	// OldParent is the parent the move replaces ("" for a root joining),
	// Parent the new one, and LCA their deepest common ancestor for a move
	// within one tree ("" across trees).
	OldParent string `json:"oldParent"`
	Parent    string `json:"parent"`
	LCA       string `json:"lca,omitempty"`
	// Usage is the moved subtree's usage summed per scope key, normalised.
	Usage map[string]corev1.ResourceList `json:"usage"`
	// At is when the move was judged, in Unix seconds.
	At int64 `json:"at"`
}

// HoldFor is the hold of moving m from oldParent under parent at at.
func HoldFor(m Moved, oldParent, parent, lca string, at time.Time) Hold {
	h := Hold{OldParent: oldParent, Parent: parent, LCA: lca, Usage: map[string]corev1.ResourceList{}, At: at.Unix()}
	for k, l := range m.Usage {
		h.Usage[k.Scope] = Add(h.Usage[k.Scope], Normalize(l))
	}
	return h
}

// WithHold returns l with the hold of moving root, replacing an older one,
// and without the holds expired at now. l is not modified.
func WithHold(l *Ledger, root string, h Hold, now time.Time) *Ledger {
	out := l.clone()
	for r, old := range out.Holds {
		if expired(old, now) {
			delete(out.Holds, r)
		}
	}
	out.Holds[root] = h
	return out
}

// WithoutHold returns l without root's hold, to judge a move of root
// again without counting its earlier judgement. l is not modified.
func WithoutHold(l *Ledger, root string) *Ledger {
	if _, ok := l.Holds[root]; !ok {
		return l
	}
	out := l.clone()
	delete(out.Holds, root)
	return out
}

// Carry returns l with the entries that from, the ledger of the tree m
// leaves, holds for m's namespaces, where they are later than l's own: a
// reservation of a moved namespace that a reader's informer does not show
// yet still counts in the new tree once the reader's forest shows the move
// (and the hold stops counting). A nil from (a move within one tree, whose
// ledger already holds them) carries nothing. l is not modified.
func Carry(l, from *Ledger, m Moved) *Ledger {
	if from == nil {
		return l
	}
	var out *Ledger
	for k, e := range from.Entries {
		if _, in := m.Tree[k.Namespace]; !in {
			continue
		}
		if cur, ok := l.Entries[k]; ok && cur.Base >= e.Base {
			continue
		}
		if out == nil {
			out = l.clone()
		}
		out.Entries[k] = e
	}
	if out == nil {
		return l
	}
	return out
}

func expired(h Hold, now time.Time) bool {
	return now.Sub(time.Unix(h.At, 0)) > HoldMax
}

// holding reports whether a reader whose forest gives parentOf counts h of
// moved namespace root at now.
func holding(root string, h Hold, parentOf func(string) string, now time.Time) bool {
	return parentOf(root) == h.OldParent && !expired(h, now)
}

// WithHolds returns s with every hold of l its reader counts (see the
// section above): the held usage as a child of the hold's parent, taken
// back at the common ancestor of a move within the tree. parentOf gives a
// namespace's parent in the reader's forest ("" for a root or an unknown
// namespace). s itself is returned when no hold counts.
func WithHolds(l *Ledger, s *Snapshot, parentOf func(string) string, now time.Time) *Snapshot {
	if len(l.Holds) == 0 {
		// Every admission outside a grant asks; almost none finds a hold.
		return s
	}
	var tree Tree
	var usage Usage
	for _, root := range slices.Sorted(maps.Keys(l.Holds)) {
		h := l.Holds[root]
		if _, ok := s.parent[h.Parent]; !ok || !holding(root, h, parentOf, now) {
			continue
		}
		if tree == nil {
			tree, usage = maps.Clone(s.parent), maps.Clone(s.usage)
		}
		in := "\x00hold/" + root
		tree[in] = h.Parent
		for scope, u := range h.Usage {
			usage[Key{Namespace: in, Scope: scope}] = u
		}
		if _, ok := s.parent[h.LCA]; h.LCA != "" && ok {
			back := "\x00unhold/" + root
			tree[back] = h.LCA
			for scope, u := range h.Usage {
				usage[Key{Namespace: back, Scope: scope}] = Subtract(nil, u)
			}
		}
	}
	if tree == nil {
		return s
	}
	var quotas []Quota
	for _, vs := range s.quotas {
		for _, v := range vs {
			quotas = append(quotas, v.Quota)
		}
	}
	return NewSnapshot(tree, quotas, usage)
}

// PruneHolds drops the holds the leader no longer needs: expired ones, and
// those its forest has shown settled (another parent) for holdSettle. It
// says whether any was dropped; l is not modified.
func PruneHolds(l *Ledger, parentOf func(string) string, now time.Time) (*Ledger, bool) {
	var drop []string
	for root, h := range l.Holds {
		settled := parentOf(root) != h.OldParent && now.Sub(time.Unix(h.At, 0)) > holdSettle
		if expired(h, now) || settled {
			drop = append(drop, root)
		}
	}
	if len(drop) == 0 {
		return l, false
	}
	out := l.clone()
	for _, r := range drop {
		delete(out.Holds, r)
	}
	return out, true
}

func encodeHolds(out map[string]string, holds map[string]Hold) {
	for root, h := range holds {
		raw, err := json.Marshal(h)
		if err != nil {
			continue // a ResourceList always marshals
		}
		out[ledgerHoldPrefix+root] = string(raw)
	}
}

func decodeHold(k, v string) (Hold, error) {
	var h Hold
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		return h, fmt.Errorf("decoding hold %q: %w", k, err)
	}
	for scope, u := range h.Usage {
		h.Usage[scope] = Normalize(u)
	}
	return h, nil
}
