package quota

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/forest"
)

// DefaultLedgerGCInterval is how often ledgers of former roots are looked
// for.
const DefaultLedgerGCInterval = time.Minute

// LedgerCollector deletes the ledgers of trees that no longer exist: a root
// that was moved under another tree, or a root namespace that was deleted.
// The reconciler only ever sees current roots, so without it such ledgers
// would stay behind (and a former root that became a root again would start
// from stale entries until each was settled).
//
// It runs on the leader only. Each deletion carries the resourceVersion it
// read, so a ledger that an admission wrote to meanwhile (a replica whose
// forest lags the move) is kept until the next pass.
type LedgerCollector struct {
	Client client.Client
	// Reader lists straight from the API server: ledgers are not cached.
	Reader    client.Reader
	Namespace string
	Forest    *forest.Forest
	// Loaded reports whether the forest has loaded; nothing is collected
	// before, since every namespace would look unknown.
	Loaded   func() bool
	Interval time.Duration
}

// NeedLeaderElection makes the collector leader-only.
func (c *LedgerCollector) NeedLeaderElection() bool { return true }

// Start collects every Interval until ctx ends.
func (c *LedgerCollector) Start(ctx context.Context) error {
	interval := c.Interval
	if interval <= 0 {
		interval = DefaultLedgerGCInterval
	}
	log := ctrl.LoggerFrom(ctx).WithName("quota-ledger-gc")
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if c.Loaded != nil && !c.Loaded() {
			return
		}
		n, err := c.Collect(ctx)
		if err != nil {
			log.Error(err, "Collecting stale quota ledgers")
			return
		}
		if n > 0 {
			log.Info("Deleted stale quota ledgers", "count", n)
		}
	}, interval)
	return nil
}

// Collect deletes the stale ledgers once and returns how many it deleted.
func (c *LedgerCollector) Collect(ctx context.Context) (int, error) {
	list := &corev1.ConfigMapList{}
	if err := c.Reader.List(ctx, list, client.InNamespace(c.Namespace), client.HasLabels{LabelLedger}); err != nil {
		return 0, fmt.Errorf("listing quota ledgers: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for _, cm := range list.Items {
		names = append(names, cm.Name)
	}
	stale := StaleLedgers(names, func(ns string) bool { return isCurrentRoot(c.Forest, ns) })
	deleted := 0
	for i := range list.Items {
		cm := &list.Items[i]
		if !stale[cm.Name] {
			continue
		}
		err := c.Client.Delete(ctx, cm, client.Preconditions{ResourceVersion: &cm.ResourceVersion})
		switch {
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
			// Gone already, or written since: the next pass decides again.
		case err != nil:
			return deleted, fmt.Errorf("deleting quota ledger %q: %w", cm.Name, err)
		default:
			deleted++
		}
	}
	return deleted, nil
}

// StaleLedgers picks, from ledger ConfigMap names, those whose tree root is
// no longer a root. A name that is not a ledger name is never picked.
func StaleLedgers(names []string, isRoot func(ns string) bool) map[string]bool {
	out := map[string]bool{}
	for _, name := range names {
		root, ok := strings.CutPrefix(name, ledgerPrefix)
		if !ok || root == "" {
			continue
		}
		if !isRoot(root) {
			out[name] = true
		}
	}
	return out
}

// isCurrentRoot reports whether ns is at the top of a tree the forest
// knows. The root need not exist: a tree whose top parent is missing is
// keyed by that missing parent, as TreeOf does.
func isCurrentRoot(f *forest.Forest, ns string) bool {
	f.Lock()
	defer f.Unlock()
	n := f.Lookup(ns)
	return n != nil && n.AncestryNames()[0] == ns
}
