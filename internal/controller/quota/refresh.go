package quota

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/canopyhq/canopy/internal/quota"
)

// StatusRefresh is the longest a tree's quota statuses wait while its
// singletons keep changing (statusRefresher).
const StatusRefresh = StatusBatch

// StatusSettle is how long a tree's singletons must stay unchanged for its
// quota statuses to be refreshed again before StatusRefresh has passed: the
// usage a burst of admissions or deletions leaves shows this long after
// the burst, not up to StatusRefresh later.
const StatusSettle = 50 * time.Millisecond

// statusRefresher writes a tree's quota statuses (status.used) as soon as
// a singleton's usage changes, so that `kubectl hns hrq` shows a new pod or
// service at once rather than after the reconciler's batch (StatusBatch).
// It only reads the caches and writes the quotas' status: no singleton and
// no ledger, the reconciler's writes that must stay out of a burst of
// admissions. A tree is refreshed on the first change after a quiet
// StatusRefresh; while changes go on, again once they pause for
// StatusSettle, and at least once per StatusRefresh. A status that stayed
// at a burst's middle until StatusRefresh had passed was read as the
// burst's outcome: after a race had filled a quota of 100 pods, its HRQ
// still showed the 80 written midway when 20 pods were deleted, and the
// refill, fired on that 80, found the singleton full.
// A status written from an older view than the object's fails with a
// conflict (the writes are optimistic), and is retried from the cache.
type statusRefresher struct {
	r *Reconciler

	mu   sync.Mutex
	last map[string]refreshTimes
}

// refreshTimes are a tree's last refresh and the last change of its
// singletons seen.
type refreshTimes struct{ wrote, changed time.Time }

func (s *statusRefresher) setup(mgr ctrl.Manager) error {
	singletons := builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
		return IsSingleton(o.GetLabels())
	}))
	return ctrl.NewControllerManagedBy(mgr).Named("quota-status").
		Watches(&corev1.ResourceQuota{}, handler.Funcs{
			UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				if !StatusOnly(e.ObjectOld, e.ObjectNew) {
					return // the reconciler itself runs at once
				}
				for _, req := range s.r.roots(e.ObjectNew.GetNamespace()) {
					s.changed(req.Name, s.r.now())
					q.Add(req)
				}
			},
		}, singletons).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2}).
		Complete(s)
}

// Reconcile refreshes the statuses of req's tree, or requeues it for when
// it is due (see due).
func (s *statusRefresher) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, err error) {
	defer func() { err = quietWhenStopping(ctx, err) }()
	if s.r.Loaded != nil && !s.r.Loaded() {
		return ctrl.Result{}, nil // the reconciler writes every status once loaded
	}
	root := RootOf(s.r.Forest, req.Name)
	if s.r.clampedTree(root) {
		// The reconciler runs at once on such a tree, and lifts a clamp
		// the new usage leaves refusing what fits before it writes the
		// status: written here first, the status could show room the
		// clamp still refuses.
		return ctrl.Result{}, nil
	}
	if d := s.due(root, s.r.now()); d > 0 {
		return ctrl.Result{RequeueAfter: d}, nil
	}
	v := TreeOf(s.r.Forest, root)
	tq, err := ReadQuotas(ctx, s.r.Client, v)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(tq.HRQs) == 0 && len(tq.HQs) == 0 {
		return ctrl.Result{}, nil
	}
	existing, err := ReadSingletons(ctx, s.r.Client, v)
	if err != nil {
		return ctrl.Result{}, err
	}
	snap := quota.NewSnapshot(v.Tree, tq.Engine(), ActualUsage(existing))
	return ctrl.Result{}, s.r.writeStatuses(ctx, snap, tq)
}

// changed records a change of root's singletons at now.
func (s *statusRefresher) changed(root string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = map[string]refreshTimes{}
	}
	t := s.last[root]
	t.changed = now
	s.last[root] = t
}

// due returns how long root must wait for its next refresh, or zero
// after recording now as its refresh: zero when its last refresh is
// StatusRefresh old, or its singletons have not changed for StatusSettle.
func (s *statusRefresher) due(root string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.last[root]
	if ok && !t.wrote.IsZero() {
		sinceWrite, quiet := now.Sub(t.wrote), now.Sub(t.changed)
		if sinceWrite < StatusRefresh && quiet < StatusSettle {
			return min(StatusRefresh-sinceWrite, StatusSettle-quiet)
		}
	}
	if s.last == nil || len(s.last) > 1024 {
		// Forget quiet trees: a tree missing here is refreshed at once,
		// which only a tree quiet for StatusRefresh may be.
		for r, t := range s.last {
			if now.Sub(t.wrote) >= StatusRefresh && now.Sub(t.changed) >= StatusRefresh {
				delete(s.last, r)
			}
		}
		if s.last == nil {
			s.last = map[string]refreshTimes{}
		}
	}
	t.wrote = now
	s.last[root] = t
	return 0
}
