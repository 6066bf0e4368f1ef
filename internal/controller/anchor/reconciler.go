package anchor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/controller/hierarchy"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/internal/crdstate"
	"github.com/canopyhq/canopy/internal/forest"
)

// errConflict marks an anchor update that lost a race; the request is
// requeued quietly.
var errConflict = errors.New("anchor changed meanwhile")

// conflictRetry is how soon an anchor whose update lost a race is
// reconciled again.
const conflictRetry = 100 * time.Millisecond

// Finalizer is the finalizer every live anchor carries (HNC's name).
const Finalizer = api.MetaGroup

// +kubebuilder:rbac:groups=hnc.x-k8s.io,resources=subnamespaceanchors,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants,verbs=get;list;watch
// Reconciler reconciles SubnamespaceAnchors.
type Reconciler struct {
	Client client.Client
	// APIReader reads the anchor CRD straight from the API server when an
	// anchor is deleted (never cached: CRDs are not watched).
	APIReader client.Reader
	Forest    *forest.Forest
}

// Workers is how many anchors are reconciled at once: each creates a
// namespace and updates its anchor, round trips that one worker ran one
// after the other (docs/scale.md).
const Workers = 16

// SetupWithManager watches anchors, and namespaces mapped to their anchor
// through the subnamespace-of annotation.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("anchor").
		For(&api.SubnamespaceAnchor{}).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(namespaceToAnchor)).
		WithOptions(controller.Options{MaxConcurrentReconciles: Workers}).
		Complete(r)
}

func namespaceToAnchor(_ context.Context, obj client.Object) []reconcile.Request {
	parent := obj.GetAnnotations()[api.SubnamespaceOf]
	if parent == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: parent, Name: obj.GetName()}}}
}

// Reconcile reads the anchor and its namespace, decides and writes.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("anchor", klog.KRef(req.Namespace, req.Name))
	anchor := &api.SubnamespaceAnchor{}
	if err := r.Client.Get(ctx, req.NamespacedName, anchor); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	facts := Facts{
		Parent:       anchor.Namespace,
		Name:         anchor.Name,
		Deleting:     anchor.DeletionTimestamp != nil,
		HasFinalizer: slices.Contains(anchor.Finalizers, Finalizer),
	}
	if facts.Deleting {
		deleting, err := crdstate.Deleting(ctx, r.APIReader, crdstate.Anchors)
		if err != nil {
			// Unsure whether this is an uninstall: delete nothing yet.
			return ctrl.Result{}, err
		}
		facts.CRDDeleting = deleting
		if deleting {
			log.Info("Leaving the subnamespace in place: the SubnamespaceAnchor CRD is being deleted")
		}
	}
	child := &corev1.Namespace{}
	switch err := r.Client.Get(ctx, client.ObjectKey{Name: anchor.Name}, child); {
	case err == nil:
		facts.ChildExists = true
		facts.ChildSubnamespaceOf = child.Annotations[api.SubnamespaceOf]
		facts.ChildTerminating = child.DeletionTimestamp != nil
	case !apierrors.IsNotFound(err):
		return ctrl.Result{}, fmt.Errorf("getting subnamespace %q: %w", anchor.Name, err)
	}

	r.Forest.Lock()
	cfg := r.Forest.Config()
	facts.ParentExcluded = cfg.WhyExcluded(anchor.Namespace)
	facts.ChildExcluded = cfg.WhyExcluded(anchor.Name)
	if ns := r.Forest.Lookup(anchor.Name); ns != nil {
		// Anchors count too: a subnamespace's own subnamespace may exist
		// before its HierarchyConfiguration names its parent.
		facts.ChildHasChildren = len(ns.ChildNames()) > 0 || len(ns.AnchorNames()) > 0
		facts.ChildAllowsCascading = ns.AllowsCascadingDeletion()
	}
	var model hierarchy.Model
	if !facts.ChildExists {
		model = hierarchy.NewSubnamespaceModel(cfg, r.Forest.Lookup(anchor.Namespace), anchor.Name, anchor.Spec)
	}
	r.Forest.Unlock()

	d := Decide(facts)
	if err := r.writeAnchor(ctx, anchor, d); err != nil {
		if errors.Is(err, errConflict) {
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, err
	}
	switch d.Action {
	case CreateNamespace:
		labels, annotations, err := r.tenantMeta(ctx, anchor.Namespace)
		if err != nil {
			return ctrl.Result{}, err
		}
		// Born with the labels and managed annotations the hierarchy
		// reconciler would patch in at once (hierarchy.NewSubnamespaceModel).
		labels, _ = hierarchy.DesiredLabels(cfg, labels, model)
		annotations, _ = hierarchy.DesiredAnnotations(cfg, annotations, model)
		annotations[api.SubnamespaceOf] = anchor.Namespace
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name:        anchor.Name,
			Labels:      labels,
			Annotations: annotations,
		}}
		if err := r.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, fmt.Errorf("creating subnamespace %q: %w", anchor.Name, err)
		}
		log.Info("Created subnamespace")
	case DeleteNamespace:
		if err := r.Client.Delete(ctx, child, client.Preconditions{UID: &child.UID}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting subnamespace %q: %w", anchor.Name, err)
		}
		log.Info("Deleting subnamespace")
	}
	return ctrl.Result{}, nil
}

// tenantMeta returns the labels and annotations a new subnamespace of
// parent is created with: when parent is in a live Tenant's tree, that
// Tenant's (tenant.CreationMeta), so the namespace is governed, and gated
// until its guardrails exist, from its first moment; else none.
func (r *Reconciler) tenantMeta(ctx context.Context, parent string) (map[string]string, map[string]string, error) {
	name := ""
	r.Forest.Lock()
	chain := r.Forest.Lookup(parent).AncestryNames() // root first, cycle-safe
	for i := len(chain) - 1; i >= 0 && name == ""; i-- {
		name = r.Forest.Lookup(chain[i]).Labels()[tenancyv1.LabelTenant]
	}
	r.Forest.Unlock()
	if name == "" {
		return nil, map[string]string{}, nil
	}
	t := &tenancyv1.Tenant{}
	switch err := r.Client.Get(ctx, client.ObjectKey{Name: name}, t); {
	case apierrors.IsNotFound(err):
		return nil, map[string]string{}, nil
	case err != nil:
		return nil, nil, fmt.Errorf("reading tenant %q: %w", name, err)
	case t.DeletionTimestamp != nil:
		return nil, map[string]string{}, nil
	}
	labels, annotations := tenantctrl.CreationMeta(t)
	return labels, annotations, nil
}

// writeAnchor sets the finalizer and status.status in one Update, only if
// they changed. A deleted anchor's status is left alone.
func (r *Reconciler) writeAnchor(ctx context.Context, anchor *api.SubnamespaceAnchor, d Decision) error {
	out := anchor.DeepCopy()
	has := slices.Contains(out.Finalizers, Finalizer)
	switch {
	case d.Finalizer && !has:
		out.Finalizers = append(out.Finalizers, Finalizer)
	case !d.Finalizer && has:
		out.Finalizers = slices.DeleteFunc(out.Finalizers, func(f string) bool { return f == Finalizer })
	}
	if anchor.DeletionTimestamp == nil {
		out.Status.State = d.State
	}
	if out.Status.State == anchor.Status.State && slices.Equal(out.Finalizers, anchor.Finalizers) {
		return nil
	}
	if err := r.Client.Update(ctx, out); err != nil {
		if apierrors.IsConflict(err) {
			return errConflict
		}
		return fmt.Errorf("updating anchor %s/%s: %w", anchor.Namespace, anchor.Name, err)
	}
	return nil
}
