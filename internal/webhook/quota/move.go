package quota

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// JudgeMove decides whether namespace ns, with its subtree, may move under
// parent (a HierarchyConfiguration's new spec.parent): every quota of
// parent's tree must still hold with the subtree's usage added
// (quota.DecideMove). version is the resourceVersion of the
// HierarchyConfiguration the move changes, as the review's old object
// gives it ("" for a create). It returns a denial, or "" to allow.
//
// It reads nothing live when no quota is on parent's path (from the
// cache). Otherwise usage is read as a refusal is (reserve): the
// destination's singletons and ledger live, with every other namespace's
// unused grant and every other move's hold counted. When only grants stand
// in the way, they are revoked, as for an admission, and the move judged
// again; a dry run revokes nothing and is judged as if they were. An
// allowed move is held in the destination's ledger until each replica's
// forest reflects a later version than the one judged (quota.Hold), so
// that no admission decided meanwhile leaves it out. The subtree counts
// its singletons' usage with its tree's unsettled reservations; for a name
// the destination limits and a singleton of the subtree does not track (a
// namespace that enters its first quota, or a quota that limits more),
// what exists is counted live (countUntracked).
func (h *StatusHandler) JudgeMove(ctx context.Context, ns, parent, version string, dryRun bool) (string, error) {
	// No quota on the new parent's path, none that the move touches: a
	// move only adds usage to the quotas of its new ancestry.
	dst := h.Trees.TreeOf(h.Forest, parent)
	onPath, err := h.pathQuotas(ctx, dst, parent)
	if err != nil || len(onPath) == 0 {
		return "", err
	}
	names := quota.Names(onPath)
	src := h.Trees.TreeOf(h.Forest, ns)
	oldParent := ctrlquota.ParentOf(h.Forest)(ns)
	seen := ctrlquota.HierarchyVersionOf(h.Forest)
	// A subtree from another tree is read once, not on every attempt of
	// the destination's compare-and-swap, which it does not depend on.
	var elsewhere quota.Moved
	var from *quota.Ledger
	rounds := 0
	err = h.casLedger(ctx, parent, func(v ctrlquota.TreeView, stored *quota.Ledger, at reads) (*quota.Ledger, error) {
		if at != liveReads {
			return nil, errRetryLive
		}
		snap, vs, quotas, err := h.snapshot(ctx, v, true)
		if err != nil || len(quotas) == 0 {
			return nil, err
		}
		var moved quota.Moved
		carried := from
		switch {
		case src.Root == v.Root:
			// Within the tree: its subtree as this attempt reads it.
			moved, carried = snap.Patched(quota.Pending(stored, snap, vs, quota.Key{})).Subtree(ns), nil
			if err := h.countUntracked(ctx, names, &moved); err != nil {
				return nil, err
			}
		case from == nil:
			if elsewhere, from, err = h.movedFrom(ctx, src, ns); err != nil {
				return nil, err
			}
			if err := h.countUntracked(ctx, names, &elsewhere); err != nil {
				return nil, err
			}
			moved, carried = elsewhere, from
		default:
			moved = elsewhere
		}
		// Other moves judged into the tree count; an earlier judgement of
		// this one does not.
		l := quota.WithoutHold(stored, ns, parent)
		snap = quota.WithHolds(l, snap, seen)
		err = quota.DecideMove(snap.Patched(quota.Counted(l, snap, vs, quota.Key{})), moved, parent)
		if err == nil {
			if dryRun {
				return nil, nil
			}
			lca := ""
			if src.Root == v.Root {
				lca = commonAncestor(v.Tree, oldParent, parent)
			}
			next := quota.WithHold(l, quota.HoldFor(moved, oldParent, parent, lca, quota.ParseRV(version), h.now()))
			return quota.Carry(next, carried, moved), nil
		}
		if quota.DecideMove(snap.Patched(quota.Pending(l, snap, vs, quota.Key{})), moved, parent) == nil {
			// Only grants deny: revoke them and judge again.
			if dryRun {
				return nil, nil
			}
			if rerr := revocable(l, snap, vs, quota.Key{}, rounds); rerr != nil {
				rounds++
				return nil, rerr
			}
		}
		return nil, err
	})
	var refused *quota.MoveError
	if errors.As(err, &refused) {
		return refused.Error(), nil
	}
	var uncounted *uncountedError
	if errors.As(err, &uncounted) {
		return fmt.Sprintf("moving namespace %q under %q: %v", ns, parent, uncounted), nil
	}
	if err != nil {
		return "", fmt.Errorf("judging the move of %q under %q against its quotas: %w", ns, parent, err)
	}
	return "", nil
}

// movedFrom is the subtree of ns, in its own tree src, with the usage that
// tree decides with (Pending; its grants are not counted, since moving
// changes their cover, which ends them), and that tree's ledger, whose
// reservations of the subtree the hold carries (quota.Carry).
func (h *StatusHandler) movedFrom(ctx context.Context, src ctrlquota.TreeView, ns string) (quota.Moved, *quota.Ledger, error) {
	snap, vs, _, err := h.snapshot(ctx, src, true)
	if err != nil {
		return quota.Moved{}, nil, err
	}
	stored, err := h.Ledgers.Get(ctx, src.Root)
	if err != nil {
		return quota.Moved{}, nil, err
	}
	return snap.Patched(quota.Pending(stored.Ledger, snap, vs, quota.Key{})).Subtree(ns), stored.Ledger, nil
}

// countUntracked adds to m, for every namespace of it, the live usage of
// the names (by scope key) that its singletons do not track: counted from
// the objects (pods at the larger of what spec and status request, as kube
// charges them), or else taken from another ResourceQuota of the namespace
// that tracks the name under the same scope. A name neither gives is an
// uncountedError: the move is refused rather than judged without it.
func (h *StatusHandler) countUntracked(ctx context.Context, names map[string][]string, m *quota.Moved) error {
	for nm := range m.Tree {
		var others *corev1.ResourceQuotaList
		for scope, want := range names {
			k := quota.Key{Namespace: nm, Scope: scope}
			tracked := m.Usage[k]
			var missing []corev1.ResourceName
			for _, r := range want {
				if _, ok := tracked[corev1.ResourceName(r)]; !ok {
					missing = append(missing, corev1.ResourceName(r))
				}
			}
			if len(missing) == 0 {
				continue
			}
			sel, err := quota.ParseScopeKey(scope)
			if err != nil {
				return err
			}
			live, err := h.liveUsage(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: nm},
				Spec: corev1.ResourceQuotaSpec{ScopeSelector: sel}}, slices.Clip(missing), true)
			if err != nil {
				return err
			}
			var uncounted []corev1.ResourceName
			for _, r := range missing {
				if _, ok := live[r]; ok {
					continue
				}
				if others == nil {
					others = &corev1.ResourceQuotaList{}
					if err := h.Live.List(ctx, others, client.InNamespace(nm)); err != nil {
						return fmt.Errorf("listing the ResourceQuotas of %q: %w", nm, err)
					}
				}
				if q, ok := trackedBy(others.Items, sel, r); ok {
					live[r] = q
					continue
				}
				uncounted = append(uncounted, r)
			}
			if len(uncounted) > 0 {
				return &uncountedError{Namespace: nm, Names: uncounted}
			}
			m.Usage[k] = quota.Add(tracked, live)
		}
	}
	return nil
}

// trackedBy is what a ResourceQuota of rqs with scope sel counts of r, as
// kube-controller-manager last counted it.
func trackedBy(rqs []corev1.ResourceQuota, sel *corev1.ScopeSelector, r corev1.ResourceName) (resource.Quantity, bool) {
	for i := range rqs {
		rq := &rqs[i]
		if _, limits := rq.Spec.Hard[r]; !limits || len(rq.Spec.Scopes) > 0 || !equality.Semantic.DeepEqual(rq.Spec.ScopeSelector, sel) {
			continue
		}
		if q, ok := rq.Status.Used[r]; ok {
			return q.DeepCopy(), true
		}
	}
	return resource.Quantity{}, false
}

// uncountedError is a move refused because what the moved subtree uses of
// some names its new ancestry limits cannot be counted.
type uncountedError struct {
	Namespace string
	Names     []corev1.ResourceName
}

func (e *uncountedError) Error() string {
	return fmt.Sprintf("Canopy cannot count %s in namespace %q, which a quota of the new ancestry limits: no quota there tracks them and the manager may not list them or evaluate their scope; "+
		"a platform admin can create a ResourceQuota tracking them in %q, or let the manager list them", quoteNames(e.Names), e.Namespace, e.Namespace)
}

func quoteNames(names []corev1.ResourceName) string {
	out := make([]string, len(names))
	for i, r := range names {
		out[i] = strconv.Quote(string(r))
	}
	return strings.Join(out, ", ")
}

// commonAncestor is the deepest namespace on both a's and b's ancestry in
// tree, "" if none.
func commonAncestor(tree quota.Tree, a, b string) string {
	above := map[string]bool{}
	for _, n := range tree.Ancestry(a) {
		above[n] = true
	}
	for _, n := range tree.Ancestry(b) {
		if above[n] {
			return n
		}
	}
	return ""
}
