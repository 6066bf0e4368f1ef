package dashboard

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// Releaser runs instead of the Reconciler when Grafana is not configured.
// It never talks to Grafana; it only removes the finalizer from Tenants
// being deleted, which a manager that once had Grafana configured left on
// them, so turning the integration off cannot make Tenants undeletable.
// Whatever that earlier manager made in Grafana is left there, and an
// event says so.
type Releaser struct {
	Client   client.Client
	Recorder events.EventRecorder
}

// SetupWithManager watches only Tenants being deleted that carry the
// finalizer.
func (r *Releaser) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).Named("dashboard-release").
		For(&tenancyv1.Tenant{}, builder.WithPredicates(predicate.NewPredicateFuncs(releasable))).
		Complete(r)
}

func releasable(o client.Object) bool {
	return o.GetDeletionTimestamp() != nil && controllerutil.ContainsFinalizer(o, Finalizer)
}

// Reconcile removes the finalizer from a Tenant being deleted.
func (r *Releaser) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	t := &tenancyv1.Tenant{}
	if err := r.Client.Get(ctx, req.NamespacedName, t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !releasable(t) {
		return ctrl.Result{}, nil
	}
	patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(t, Finalizer)
	if err := r.Client.Patch(ctx, t, patch); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("removing finalizer: %w", err)
	}
	if r.Recorder != nil {
		r.Recorder.Eventf(t, nil, corev1.EventTypeWarning, "GrafanaDisabled", "Delete",
			"Grafana is not configured (--grafana-url is empty): released the finalizer without tearing down the tenant's Grafana space")
	}
	ctrl.LoggerFrom(ctx).Info("Released Grafana finalizer; Grafana is not configured", "tenant", klog.KObj(t))
	return ctrl.Result{}, nil
}
