package hncconfig

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/controller/propagation"
)

// +kubebuilder:rbac:groups=hnc.x-k8s.io,resources=hncconfigurations,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get;list;watch;patch

// notSyncedRetry is how soon the status is computed again while a type's
// initial list is not yet in.
const notSyncedRetry = 500 * time.Millisecond

// Reconciler reports the HNCConfiguration singleton's status.
type Reconciler struct {
	Client     client.Client
	Propagator *propagation.Propagator
	// Rules, if set, keeps the objects webhook's rules current.
	Rules *RulesApplier
	// Now is the clock; nil means metav1.Now.
	Now func() metav1.Time
}

// SetupWithManager registers the reconciler (leader only). It watches the
// singleton and the Propagator's change notifications.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("hncconfiguration").
		For(&api.HNCConfiguration{}).
		WatchesRawSource(source.Channel(r.Propagator.Changes(), &handler.EnqueueRequestForObject{})).
		Complete(r)
}

// Reconcile creates the singleton if missing, then writes its status if it
// changed and applies the webhook rules.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if req.Name != api.HNCConfigSingleton {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx)
	cfg := &api.HNCConfiguration{}
	if err := r.Client.Get(ctx, req.NamespacedName, cfg); apierrors.IsNotFound(err) {
		cfg = &api.HNCConfiguration{ObjectMeta: metav1.ObjectMeta{Name: api.HNCConfigSingleton}}
		if err := r.Client.Create(ctx, cfg); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, fmt.Errorf("creating HNCConfiguration %q: %w", api.HNCConfigSingleton, err)
		}
		log.Info("Created the HNCConfiguration singleton")
		return ctrl.Result{}, nil
	} else if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading HNCConfiguration: %w", err)
	}

	types, err := r.Propagator.TypeStatuses(ctx)
	if errors.Is(err, propagation.ErrNotSynced) {
		// Counted now, the status would be partial and written twice on
		// every start; look again once the lists are in.
		return ctrl.Result{RequeueAfter: notSyncedRetry}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	now := metav1.Now
	if r.Now != nil {
		now = r.Now
	}
	want := DesiredStatus(r.Propagator.SpecError(), types, cfg.Status, cfg.Generation, now())
	if !equality.Semantic.DeepEqual(cfg.Status, want) {
		cfg.Status = want
		if err := r.Client.Update(ctx, cfg); apierrors.IsConflict(err) {
			// The cache was behind; the newer version's watch event
			// reconciles again.
			return ctrl.Result{}, nil
		} else if err != nil {
			return ctrl.Result{}, fmt.Errorf("updating HNCConfiguration status: %w", err)
		}
	}
	if r.Rules != nil {
		if err := r.Rules.Apply(ctx, DesiredRules(types)); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}
