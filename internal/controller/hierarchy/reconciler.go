package hierarchy

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/forestsync"
)

// conflictRetry is how soon a namespace whose HierarchyConfiguration update
// lost a race is reconciled again.
const conflictRetry = 100 * time.Millisecond

// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=hnc.x-k8s.io,resources=hierarchyconfigurations,verbs=get;list;watch;create;update;patch

// Reconciler writes tree labels, managed metadata and HierarchyConfiguration
// status for one namespace at a time. Requests carry only a Name.
type Reconciler struct {
	Client client.Client
	Forest *forest.Forest
	Sync   *forestsync.Syncer
	// Now is the clock for condition transition times; nil means time.Now.
	Now func() time.Time
}

// Workers is how many namespaces are reconciled at once. Each reconcile
// is a few writes, each a round trip to a loaded API server, so the tree
// converges about as fast as there are workers (docs/scale.md: 4 gave
// about 50 label patches a second on a 2-core machine).
const Workers = 16

// SetupWithManager registers the reconciler. It is driven only by the
// forestsync Source: every change the informers see lands in the forest
// first and is then enqueued here, so the reconciler never reads a forest
// older than the event that woke it.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("hierarchy").
		WatchesRawSource(r.Sync.Source()).
		WithOptions(controller.Options{MaxConcurrentReconciles: Workers}).
		Complete(r)
}

// Reconcile reads, decides under the forest's lock, then writes.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	name := req.Name
	log := ctrl.LoggerFrom(ctx).WithValues("namespace", klog.KRef("", name))

	// Read.
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	var hc *api.HierarchyConfiguration
	cur := &api.HierarchyConfiguration{}
	switch err := r.Client.Get(ctx, client.ObjectKey{Namespace: name, Name: api.Singleton}, cur); {
	case err == nil:
		hc = cur
	case !apierrors.IsNotFound(err):
		return ctrl.Result{}, fmt.Errorf("getting hierarchy configuration of %q: %w", name, err)
	}
	var generation int64
	var existing []metav1.Condition
	if hc != nil {
		generation, existing = hc.Generation, hc.Status.Conditions
	}

	// Lock and decide.
	r.Forest.Lock()
	fns := r.Forest.Lookup(name)
	if !fns.Exists() {
		// The forest has not seen the namespace yet; forestsync enqueues it
		// again once it has.
		r.Forest.Unlock()
		return ctrl.Result{}, nil
	}
	wasHalted := fns.IsHalted()
	condsChanged := fns.RefreshConditions()
	var subtree []string
	if condsChanged {
		subtree = fns.DescendantNames()
		if wasHalted != fns.IsHalted() {
			log.Info("Halted state changed", "halted", !wasHalted)
		}
	}
	m := TakeModel(r.Forest.Config(), fns, generation, existing, metav1.NewTime(r.now()))
	r.Forest.Unlock()
	r.Sync.Notify(subtree)

	// Write.
	if err := r.writeNamespace(ctx, ns, m); err != nil {
		return ctrl.Result{}, err
	}
	desired, action := DesiredHierarchy(name, ns.Annotations[api.SubnamespaceOf], ns.DeletionTimestamp != nil, hc, m)
	switch action {
	case HierarchyCreate:
		// HNC's CRD has no status subresource, so Create stores the
		// status as given.
		if err := r.Client.Create(ctx, desired); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, fmt.Errorf("creating hierarchy configuration of %q: %w", name, err)
		}
		log.V(1).Info("Created hierarchy configuration", "parent", desired.Spec.Parent)
	case HierarchyUpdate:
		if err := r.Client.Update(ctx, desired); err != nil {
			if apierrors.IsConflict(err) {
				// A user edited the spec meanwhile; decide again on the
				// new version.
				return ctrl.Result{RequeueAfter: conflictRetry}, nil
			}
			return ctrl.Result{}, fmt.Errorf("updating hierarchy configuration of %q: %w", name, err)
		}
		log.V(1).Info("Updated hierarchy configuration")
	}
	return ctrl.Result{}, nil
}

func (r *Reconciler) writeNamespace(ctx context.Context, ns *corev1.Namespace, m Model) error {
	cfg := r.Forest.Config()
	labels, lc := DesiredLabels(cfg, ns.Labels, m)
	annots, ac := DesiredAnnotations(cfg, ns.Annotations, m)
	if !lc && !ac {
		return nil
	}
	// A merge patch touches only the keys that change, so it neither
	// conflicts with nor clobbers concurrent edits of other metadata.
	patched := ns.DeepCopy()
	patched.Labels, patched.Annotations = labels, annots
	if err := r.Client.Patch(ctx, patched, client.MergeFrom(ns)); err != nil {
		return fmt.Errorf("updating labels of namespace %q: %w", ns.Name, err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Updated namespace metadata", "namespace", ns.Name)
	return nil
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
