package quota

import (
	"context"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// SetupWithManager registers the reconciler; it runs on the leader only.
// Every event is mapped to the root of the tree it touches, as known when
// the event arrives. The forest may see a move a moment later than this
// handler, so moves enqueue the roots of both the old and the new parent,
// and Reconcile resolves the root again when it runs.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	toRoot := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return r.roots(o.GetNamespace())
	})
	nsToRoot := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return r.roots(o.GetName())
	})
	singletons := builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
		return IsSingleton(o.GetLabels())
	}))
	b := ctrl.NewControllerManagedBy(mgr).Named("quota").
		// The queue itself, so Reconcile can send a request to its
		// tree's root.
		WatchesRawSource(source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			r.setQueue(q)
			return nil
		}))
	if r.Subscribe != nil {
		// The forest's own change feed, after the forest has applied the
		// change: the most reliable trigger for moves.
		b = b.WatchesRawSource(source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
			r.Subscribe(ctx, func(names []string) {
				for _, req := range r.roots(names...) {
					q.Add(req)
				}
			})
			return nil
		}))
	}
	err := b.
		// A quota's status is written by this reconciler and by
		// quota-status (refresh.go); a write of status alone changes no
		// decision, and reconciling on it would bring this reconciler's
		// singleton writes into a burst of admissions.
		Watches(&hncv1.HierarchicalResourceQuota{}, toRoot, builder.WithPredicates(notQuotaStatusOnly)).
		Watches(&tenancyv1.HierarchicalQuota{}, toRoot, builder.WithPredicates(notQuotaStatusOnly)).
		Watches(&corev1.ResourceQuota{}, r.singletonEvents(), singletons).
		Watches(&corev1.Namespace{}, nsToRoot).
		Watches(&hncv1.HierarchyConfiguration{}, handler.Funcs{
			CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.enqueueHierarchy(q, e.Object)
			},
			UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.enqueueHierarchy(q, e.ObjectOld, e.ObjectNew)
			},
			DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.enqueueHierarchy(q, e.Object)
			},
		}).
		// Several trees at once, so that a large tree never starves the
		// others; the work queue never hands one tree (one root) to two
		// workers at once, so reconciles of one tree never race each
		// other. A namespace that moves between trees during a reconcile
		// of its old tree can get a stale singleton write from it; that
		// write's event reconciles its new tree, which corrects it, as
		// with one worker.
		WithOptions(controller.Options{MaxConcurrentReconciles: r.workers()}).
		Complete(r)
	if err != nil {
		return err
	}
	return (&statusRefresher{r: r}).setup(mgr)
}

func (r *Reconciler) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	return DefaultWorkers
}

// StatusBatch is how long a change of a singleton's status alone (new
// usage) waits before its tree is reconciled, so that under steady
// admissions a tree is reconciled about once per StatusBatch rather than
// once per pod: admission decides on the singletons, not on what the
// reconciler writes, and only the quotas' status.used lags by this much.
const StatusBatch = time.Second

// singletonEvents maps singleton events to their tree's root: at once,
// except for updates of status alone, which are batched (StatusBatch) in
// trees that hold no clamp.
func (r *Reconciler) singletonEvents() handler.Funcs {
	now := func(q workqueue.TypedRateLimitingInterface[reconcile.Request], o client.Object) {
		for _, req := range r.roots(o.GetNamespace()) {
			q.Add(req)
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.noteClamp(e.Object, false)
			now(q, e.Object)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.noteClamp(e.ObjectNew, false)
			if !StatusOnly(e.ObjectOld, e.ObjectNew) || r.clampedTree(e.ObjectNew.GetNamespace()) {
				// A tree holding a clamp is reconciled at once: new
				// usage (a deletion, a reservation settled lower than
				// held) may leave the clamp refusing what fits.
				now(q, e.ObjectNew)
				return
			}
			for _, req := range r.roots(e.ObjectNew.GetNamespace()) {
				q.AddAfter(req, StatusBatch)
			}
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			r.noteClamp(e.Object, true)
			now(q, e.Object)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			now(q, e.Object)
		},
	}
}

// noteClamp records whether the singleton o is clamped (AnnotationClampedAt),
// or its removal. The status webhook's SingletonFeed tracks clamps too, from
// its own handler of the same informer; the reconciler keeps its own
// record, written in the handler that queues the event, because the
// informer runs its handlers in no set order: read from the feed,
// clampedTree could judge an event before the feed had seen it, and batch
// the reconcile of a tree that just became clamped.
func (r *Reconciler) noteClamp(o client.Object, deleted bool) {
	_, clamped := o.GetAnnotations()[AnnotationClampedAt]
	key := client.ObjectKeyFromObject(o)
	r.mu.Lock()
	defer r.mu.Unlock()
	if clamped && !deleted {
		if r.clamped == nil {
			r.clamped = map[client.ObjectKey]bool{}
		}
		r.clamped[key] = true
		return
	}
	delete(r.clamped, key)
}

// clampedTree reports whether the tree of ns holds a clamped singleton.
// Clamps are few (a batch denied near a full tree makes one), so it looks
// at each.
func (r *Reconciler) clampedTree(ns string) bool {
	r.mu.Lock()
	var in []string
	for k := range r.clamped {
		in = append(in, k.Namespace)
	}
	r.mu.Unlock()
	if len(in) == 0 {
		return false
	}
	root := RootOf(r.Forest, ns)
	for _, c := range in {
		if RootOf(r.Forest, c) == root {
			return true
		}
	}
	return false
}

// notQuotaStatusOnly passes every event but an update of a quota's
// status alone.
var notQuotaStatusOnly = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return !QuotaStatusOnly(e.ObjectOld, e.ObjectNew)
}}

// QuotaStatusOnly reports whether an update of a HierarchicalResourceQuota
// or a HierarchicalQuota changed nothing but its status.
func QuotaStatusOnly(oldObj, newObj client.Object) bool {
	switch o := oldObj.(type) {
	case *hncv1.HierarchicalResourceQuota:
		n, ok := newObj.(*hncv1.HierarchicalResourceQuota)
		if !ok || !apiequality.Semantic.DeepEqual(o.Spec, n.Spec) {
			return false
		}
	case *tenancyv1.HierarchicalQuota:
		n, ok := newObj.(*tenancyv1.HierarchicalQuota)
		if !ok || !apiequality.Semantic.DeepEqual(o.Spec, n.Spec) {
			return false
		}
	default:
		return false
	}
	return maps.Equal(oldObj.GetLabels(), newObj.GetLabels()) && maps.Equal(oldObj.GetAnnotations(), newObj.GetAnnotations()) &&
		oldObj.GetDeletionTimestamp().Equal(newObj.GetDeletionTimestamp()) && slices.Equal(oldObj.GetFinalizers(), newObj.GetFinalizers())
}

// StatusOnly reports whether an update of a ResourceQuota changed nothing
// but its status.
func StatusOnly(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*corev1.ResourceQuota)
	n, ok2 := newObj.(*corev1.ResourceQuota)
	if !ok1 || !ok2 {
		return false
	}
	return apiequality.Semantic.DeepEqual(o.Spec, n.Spec) && maps.Equal(o.Labels, n.Labels) &&
		maps.Equal(o.Annotations, n.Annotations) && o.DeletionTimestamp.Equal(n.DeletionTimestamp)
}

// roots returns requests for the roots of the trees of namespaces. A
// namespace the forest no longer knows is its own root, so its leftover
// singletons are still removed.
func (r *Reconciler) roots(namespaces ...string) []reconcile.Request {
	seen := map[string]bool{}
	var out []reconcile.Request
	for _, ns := range namespaces {
		if ns == "" {
			continue
		}
		if root := RootOf(r.Forest, ns); !seen[root] {
			seen[root] = true
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKey{Name: root}})
		}
	}
	return out
}

func (r *Reconciler) enqueueHierarchy(q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
	var names []string
	for _, o := range objs {
		names = append(names, o.GetNamespace())
		if hc, ok := o.(*hncv1.HierarchyConfiguration); ok {
			names = append(names, hc.Spec.Parent)
		}
	}
	for _, req := range r.roots(names...) {
		q.Add(req)
	}
}
