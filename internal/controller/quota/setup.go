package quota

import (
	"context"

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
	b := ctrl.NewControllerManagedBy(mgr).Named("quota")
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
	return b.
		Watches(&hncv1.HierarchicalResourceQuota{}, toRoot).
		Watches(&tenancyv1.HierarchicalQuota{}, toRoot).
		Watches(&corev1.ResourceQuota{}, toRoot, singletons).
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
		// One tree at a time: reconciles of one tree never race each other.
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
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
