package quota

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// A hold is settled by what the API server commits, never by a clock. The
// API server stores a change of a HierarchyConfiguration only at the
// version its webhooks judged (the review's old object; a write that finds
// another version is judged again or refused), so once a reader's forest
// reflects a later version of it, that forest shows the move or whatever
// replaced it, and the hold counts nothing there. Until then a reader
// counts it (WithHolds): the subtree's usage, per scope key, as a child of
// the new parent. For a move within one tree, whose readers already count
// the subtree under its old parent, the hold also takes that usage back at
// the deepest common ancestor: the quotas above both parents count the
// subtree once, those of the old branch still count it (the move may never
// be stored), and those it enters count it too.
//
// A move the API server never stores (another webhook refused it, or its
// write conflicted) leaves the version as it was. The leader fences such a
// hold HoldFence after its judgement (StepHold): it writes the
// HierarchyConfiguration, after which the move cannot be stored at the
// judged version, and drops the hold HoldSettle after its forest shows a
// later one. The clock only decides when to write, never what counts.

// HoldFence is how long after its judgement the leader fences a hold whose
// move its forest does not show: the default timeout of an admission
// webhook, so that only a move whose other webhooks take longer than that
// after Canopy's judgement meets the fence (and is judged again, or
// conflicts).
const HoldFence = 10 * time.Second

// HoldSettle is how long the leader keeps a hold once it finds it settled,
// for the other replicas' forests to show the later version too.
const HoldSettle = 10 * time.Second

// ledgerHoldPrefix keys a hold: _hold.<namespace>.<parent> (namespace
// names hold no dots).
const ledgerHoldPrefix = "_hold."

// Hold is a judged move's usage in its destination tree's ledger.
type Hold struct {
	// Namespace is the moved namespace.
	Namespace string `json:"namespace"`
	// OldParent is the parent the move replaces ("" for a root joining),
	// Parent the new one, and LCA their deepest common ancestor for a move
	// within one tree ("" across trees).
	OldParent string `json:"oldParent"`
	Parent    string `json:"parent"`
	LCA       string `json:"lca,omitempty"`
	// Version is the resourceVersion, as an etcd revision, of the
	// HierarchyConfiguration the move was judged on: 0 when it was being
	// created.
	Version uint64 `json:"version"`
	// Usage is the moved subtree's usage summed per scope key, normalised.
	Usage map[string]corev1.ResourceList `json:"usage"`
	// At is when the move was judged, in Unix seconds.
	At int64 `json:"at"`
}

// Key is the hold's key in Ledger.Holds: a judgement of the same move
// replaces it, one of the same namespace under another parent does not.
func (h Hold) Key() string { return h.Namespace + "." + h.Parent }

// Holding reports whether a reader whose forest reflects version seen of
// the moved namespace's HierarchyConfiguration (0 without one) counts h.
func (h Hold) Holding(seen uint64) bool { return seen <= h.Version }

// HoldFor is the hold of moving m from oldParent under parent, judged at
// version of m's root's HierarchyConfiguration at at.
func HoldFor(m Moved, oldParent, parent, lca string, version uint64, at time.Time) Hold {
	h := Hold{Namespace: m.Root, OldParent: oldParent, Parent: parent, LCA: lca, Version: version,
		Usage: map[string]corev1.ResourceList{}, At: at.Unix()}
	for k, l := range m.Usage {
		h.Usage[k.Scope] = Add(h.Usage[k.Scope], Normalize(l))
	}
	return h
}

// WithHold returns l with h, replacing an earlier judgement of the same
// move. l is not modified.
func WithHold(l *Ledger, h Hold) *Ledger {
	out := l.clone()
	out.Holds[h.Key()] = h
	return out
}

// WithoutHold returns l without the hold of moving ns under parent, to
// judge that move again without counting its earlier judgement. l is not
// modified.
func WithoutHold(l *Ledger, ns, parent string) *Ledger {
	k := Hold{Namespace: ns, Parent: parent}.Key()
	if _, ok := l.Holds[k]; !ok {
		return l
	}
	out := l.clone()
	delete(out.Holds, k)
	return out
}

// DropHolds returns l without the holds keyed keys; l is not modified.
func DropHolds(l *Ledger, keys []string) *Ledger {
	if len(keys) == 0 {
		return l
	}
	out := l.clone()
	for _, k := range keys {
		delete(out.Holds, k)
	}
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

// WithHolds returns s with every hold of l its reader counts (see the
// section above): the held usage as a child of the hold's parent, taken
// back at the common ancestor of a move within the tree. seen gives the
// version of a namespace's HierarchyConfiguration the reader's forest
// reflects (0 without one). s itself is returned when no hold counts.
func WithHolds(l *Ledger, s *Snapshot, seen func(string) uint64) *Snapshot {
	if len(l.Holds) == 0 {
		// Every admission outside a grant asks; almost none finds a hold.
		return s
	}
	var tree Tree
	var usage Usage
	for _, k := range slices.Sorted(maps.Keys(l.Holds)) {
		h := l.Holds[k]
		if _, ok := s.parent[h.Parent]; !ok || !h.Holding(seen(h.Namespace)) {
			continue
		}
		if tree == nil {
			tree, usage = maps.Clone(s.parent), maps.Clone(s.usage)
		}
		in := "\x00hold/" + k
		tree[in] = h.Parent
		for scope, u := range h.Usage {
			usage[Key{Namespace: in, Scope: scope}] = u
		}
		if _, ok := s.parent[h.LCA]; h.LCA != "" && ok {
			back := "\x00unhold/" + k
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

// HoldStep is what the leader does with a hold next (StepHold).
type HoldStep int

const (
	// HoldWait keeps the hold as it is.
	HoldWait HoldStep = iota
	// HoldFenceIt writes the moved namespace's HierarchyConfiguration, so
	// that a move never stored can no longer be stored at the judged
	// version.
	HoldFenceIt
	// HoldDrop removes the hold from the ledger.
	HoldDrop
)

// StepHold decides the leader's next step for h at now, and when to look
// again: settledAt is when the leader first found it settled (its forest
// reflecting a later version, or the HierarchyConfiguration gone), zero
// while it has not.
func StepHold(h Hold, settledAt, now time.Time) (HoldStep, time.Duration) {
	if !settledAt.IsZero() {
		if d := settledAt.Add(HoldSettle).Sub(now); d > 0 {
			return HoldWait, d
		}
		return HoldDrop, 0
	}
	if d := time.Unix(h.At, 0).Add(HoldFence).Sub(now); d > 0 {
		return HoldWait, d
	}
	// Look again soon: the forest shows the fence within moments.
	return HoldFenceIt, time.Second
}

func encodeHolds(out map[string]string, holds map[string]Hold) {
	for k, h := range holds {
		raw, err := json.Marshal(h)
		if err != nil {
			continue // a ResourceList always marshals
		}
		out[ledgerHoldPrefix+k] = string(raw)
	}
}

func decodeHold(k, v string) (Hold, error) {
	var h Hold
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		return h, fmt.Errorf("decoding hold %q: %w", k, err)
	}
	if h.Namespace == "" {
		// Written before holds named their namespace: keyed by it alone.
		h.Namespace = strings.TrimPrefix(k, ledgerHoldPrefix)
	}
	for scope, u := range h.Usage {
		h.Usage[scope] = Normalize(u)
	}
	return h, nil
}
