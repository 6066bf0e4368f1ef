package fleet

import (
	"context"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/placement"
	"github.com/canopyhq/canopy/internal/tenantstatus"
)

// FieldManager owns status.clusters and the Placed condition.
const FieldManager = "canopy-fleet"

// Requeue intervals. Members join and leave the inventory and change their
// labels without an event the hub Tenant sees, so each is re-read on a
// timer; an unreachable member is retried sooner.
const (
	resyncAfter      = 15 * time.Second
	unreachableAfter = 5 * time.Second
)

// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants/status,verbs=get;update;patch

// Hub places fleet Tenants on members and reports them.
type Hub struct {
	// Client is the hub's.
	Client   client.Client
	Provider *Provider
}

// SetupWithManager watches fleet Tenants on the hub and hub-managed
// Tenants on every member, whose changes requeue the hub Tenant.
func (h *Hub) SetupWithManager(mgr mcmanager.Manager) error {
	fleetOnly := predicate.NewPredicateFuncs(func(o client.Object) bool {
		t, ok := o.(*tenancyv1.Tenant)
		return ok && t.Spec.Placement != nil
	})
	toHub := func(_ multicluster.ClusterName, _ cluster.Cluster) handler.TypedEventHandler[client.Object, mcreconcile.Request] {
		return handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []mcreconcile.Request {
			if o.GetLabels()[tenancyv1.LabelManagedBy] != tenancyv1.ManagedByHub {
				return nil
			}
			return []mcreconcile.Request{{Request: ctrl.Request{NamespacedName: client.ObjectKey{Name: o.GetName()}}}}
		})
	}
	return mcbuilder.ControllerManagedBy(mgr).Named("fleet").
		For(&tenancyv1.Tenant{}, mcbuilder.WithEngageWithLocalCluster(true), mcbuilder.WithEngageWithProviderClusters(false), mcbuilder.WithPredicates(fleetOnly)).
		Watches(&tenancyv1.Tenant{}, toHub, mcbuilder.WithEngageWithLocalCluster(false), mcbuilder.WithEngageWithProviderClusters(true),
			mcbuilder.WithPredicates(predicate.Funcs{GenericFunc: func(event.GenericEvent) bool { return false }})).
		Complete(h)
}

// Reconcile reads the hub Tenant and every member it concerns, decides,
// writes member Tenants, then the hub Tenant's status once.
func (h *Hub) Reconcile(ctx context.Context, req mcreconcile.Request) (ctrl.Result, error) {
	if req.ClusterName != "" {
		return ctrl.Result{}, nil // member events are mapped to the hub's Tenant
	}
	t := &tenancyv1.Tenant{}
	if err := h.Client.Get(ctx, req.NamespacedName, t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if t.Spec.Placement == nil {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("tenant", klog.KObj(t))
	ctx = ctrl.LoggerInto(ctx, log)
	if t.DeletionTimestamp == nil && !controllerutil.ContainsFinalizer(t, tenancyv1.FinalizerFleet) {
		patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(t, tenancyv1.FinalizerFleet)
		if err := h.Client.Patch(ctx, t, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding finalizer: %w", err)
		}
	}
	if t.DeletionTimestamp != nil && !controllerutil.ContainsFinalizer(t, tenancyv1.FinalizerFleet) {
		return ctrl.Result{}, nil
	}

	// Read: the inventory, and which members hold the Tenant now.
	members := h.Provider.Members()
	var holding []string
	for _, c := range t.Status.Clusters {
		holding = append(holding, c.Name)
	}
	for _, m := range members {
		if mb, _ := h.memberFor(ctx, m.Name); mb != nil && !slices.Contains(holding, m.Name) && mb.holds(ctx, t.Name) {
			holding = append(holding, m.Name)
		}
	}

	// Decide.
	invalid := ""
	if errs := placement.ValidateSplit(&t.Spec); len(errs) > 0 {
		invalid = errs.ToAggregate().Error()
	}
	plan, err := placement.Decide(t, members, holding)
	if err != nil {
		invalid = err.Error()
	}
	if invalid != "" {
		// An invalid spec places nothing new and removes nothing: the
		// last good placement stands until the spec is fixed.
		plan = placement.Plan{}
	}

	// Write each member, observing it.
	now := metav1.Now()
	var statuses []tenancyv1.TenantClusterStatus
	unreachable, removalsPending := false, false
	observe := func(name string, role placement.Role) {
		o := h.sync(ctx, t, name, role)
		if o.Unreachable != "" {
			unreachable = true
		}
		if role == placement.RoleRemove && (o.Unreachable != "" || o.Member != nil) {
			removalsPending = true
		}
		if role == placement.RoleRemove && o.Unreachable == "" && o.Member == nil {
			log.Info("Tenant removed from member", "cluster", name)
			return // gone: drop it from status
		}
		statuses = append(statuses, placement.ClusterStatus(o, prevStatus(t, name), now))
	}
	for _, c := range plan.Place {
		observe(c, placement.RolePlace)
	}
	for _, c := range plan.Unallocated {
		observe(c, placement.RoleUnallocated)
	}
	for _, c := range plan.Remove {
		observe(c, placement.RoleRemove)
	}
	if invalid != "" {
		statuses = t.Status.Clusters // keep reporting the last placement
	}
	slices.SortFunc(statuses, func(a, b tenancyv1.TenantClusterStatus) int { return cmpString(a.Name, b.Name) })

	if t.DeletionTimestamp != nil {
		if !removalsPending {
			patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{})
			controllerutil.RemoveFinalizer(t, tenancyv1.FinalizerFleet)
			if err := h.Client.Patch(ctx, t, patch); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, fmt.Errorf("removing finalizer: %w", err)
			}
			log.Info("Fleet Tenant removed from every member")
			return ctrl.Result{}, nil
		}
	}
	placed := placement.PlacedCondition(plan, statuses, invalid, t.Generation)
	if err := h.writeStatus(ctx, t, statuses, placed, now); err != nil {
		return ctrl.Result{}, err
	}
	if unreachable {
		return ctrl.Result{RequeueAfter: unreachableAfter}, nil
	}
	return ctrl.Result{RequeueAfter: resyncAfter}, nil
}

// sync brings one member in line with its role and observes it.
func (h *Hub) sync(ctx context.Context, t *tenancyv1.Tenant, name string, role placement.Role) placement.Observation {
	o := placement.Observation{Cluster: name, Role: role, Generation: t.Generation}
	m, why := h.memberFor(ctx, name)
	if m == nil {
		o.Unreachable = why
		return o
	}
	cur, err := m.read(ctx, t.Name)
	if err != nil {
		o.Unreachable = err.Error()
		return o
	}
	o.Member = cur
	switch role {
	case placement.RolePlace:
		want, _ := placement.MemberTenant(t, name)
		written, err := m.apply(ctx, cur, want)
		o.Member = written
		if err != nil {
			o.WriteError = err.Error()
		}
	case placement.RoleRemove:
		if cur != nil && cur.Labels[tenancyv1.LabelManagedBy] != tenancyv1.ManagedByHub {
			o.Member = nil // the member's own Tenant: not ours to remove
		} else if gone, err := m.remove(ctx, cur); err != nil {
			o.WriteError = err.Error()
		} else if gone {
			o.Member = nil
		}
		return o
	case placement.RoleUnallocated:
		return o
	}
	if o.Member != nil && o.WriteError == "" {
		hard, used, err := m.quota(ctx, t.Name)
		if err != nil {
			o.Unreachable = err.Error()
			return o
		}
		o.QuotaHard, o.QuotaUsed = hard, used
	}
	return o
}

func prevStatus(t *tenancyv1.Tenant, name string) *tenancyv1.TenantClusterStatus {
	for i := range t.Status.Clusters {
		if t.Status.Clusters[i].Name == name {
			return &t.Status.Clusters[i]
		}
	}
	return nil
}

// writeStatus applies status.clusters and Placed, when they changed.
func (h *Hub) writeStatus(ctx context.Context, t *tenancyv1.Tenant, clusters []tenancyv1.TenantClusterStatus, placed metav1.Condition, now metav1.Time) error {
	if !placement.StatusChanged(t.Status, clusters, placed) {
		return nil
	}
	placed = placement.MergePlaced(t.Status.Conditions, placed, now)
	u, err := tenantstatus.ApplyObject(t.Name, tenancyv1.TenantStatus{Clusters: clusters, Conditions: []metav1.Condition{placed}})
	if err != nil {
		return err
	}
	if err := h.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying status: %w", err)
	}
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
