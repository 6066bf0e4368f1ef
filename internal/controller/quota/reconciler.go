package quota

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
)

// Defaults for Reconciler.
const (
	// DefaultResync is how often a tree with quotas is reconciled without
	// an event, to release stale reservations and take in usage the
	// webhook did not see.
	DefaultResync = 15 * time.Second
	// DefaultGrace is how long a reservation may differ from the actual
	// usage before the ledger is matched to it. It exceeds the webhook's
	// 10 s timeout plus the API server's quota-status retries.
	DefaultGrace = 30 * time.Second
)

// +kubebuilder:rbac:groups="",resources=resourcequotas,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=hnc.x-k8s.io,resources=hierarchicalresourcequotas,verbs=get;list;watch;update
// +kubebuilder:rbac:groups=hnc.x-k8s.io,resources=hierarchyconfigurations,verbs=get;list;watch
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=hierarchicalquotas,verbs=get;list;watch
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=hierarchicalquotas/status,verbs=get;update;patch

// Reconciler keeps one tree's singletons, ledger and quota statuses; see the
// package doc. Requests name a namespace of the tree, usually its root.
type Reconciler struct {
	// Client is the manager's cached client.
	Client  client.Client
	Forest  *forest.Forest
	Ledgers LedgerStore
	Resync  time.Duration
	Grace   time.Duration
	// Loaded reports whether the forest has loaded; nil means it has.
	// Until it has, every namespace would look like a tree of its own, and
	// reconciling would delete the singletons of every descendant.
	Loaded func() bool
	// Subscribe, when set, feeds the names of namespaces whose place in the
	// forest changed (forestsync's Syncer.Subscribe).
	Subscribe func(ctx context.Context, fn func(names []string))
	// Now is time.Now unless a test replaces it.
	Now func() time.Time
}

// Reconcile brings one tree to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if r.Loaded != nil && !r.Loaded() {
		// A timed requeue, not an error: nothing failed, the forest is
		// still loading (it notifies every namespace once loaded).
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	// 1. Read.
	v := TreeOf(r.Forest, req.Name)
	log := ctrl.LoggerFrom(ctx).WithValues("tree", v.Root)
	ctx = ctrl.LoggerInto(ctx, log)
	tq, err := ReadQuotas(ctx, r.Client, v)
	if err != nil {
		return ctrl.Result{}, err
	}
	existing, err := ReadSingletons(ctx, r.Client, v)
	if err != nil {
		return ctrl.Result{}, err
	}
	// 2. Decide.
	quotas := tq.Engine()
	actual := ActualUsage(existing)
	snap := quota.NewSnapshot(v.Tree, quotas, actual)
	desired, err := DesiredSingletons(snap, quotas, v)
	if err != nil {
		return ctrl.Result{}, err
	}
	// 3. Write.
	if err := r.applySingletons(ctx, PlanSingletons(existing, KeepClamps(existing, desired, r.now()))); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcileLedger(ctx, v.Root, len(quotas) > 0, actual); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.writeStatuses(ctx, snap, tq); err != nil {
		return ctrl.Result{}, err
	}
	if len(quotas) == 0 {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: r.resync()}, nil
}

func (r *Reconciler) applySingletons(ctx context.Context, p SingletonPlan) error {
	log := ctrl.LoggerFrom(ctx)
	for i := range p.Create {
		rq := &p.Create[i]
		err := r.Client.Create(ctx, rq)
		switch {
		case apierrors.IsAlreadyExists(err):
			// A ResourceQuota of that name that is not labelled yet; adopt it.
			cur := &corev1.ResourceQuota{}
			if err := r.Client.Get(ctx, client.ObjectKeyFromObject(rq), cur); err != nil {
				return fmt.Errorf("reading quota singleton %s: %w", klog.KObj(rq), err)
			}
			plan := PlanSingletons(map[string][]corev1.ResourceQuota{rq.Namespace: {*cur}}, map[string][]corev1.ResourceQuota{rq.Namespace: {*rq}})
			p.Update = append(p.Update, plan.Update...)
		case apierrors.IsNotFound(err) || apierrors.IsForbidden(err) && isTerminating(err):
			// The namespace is gone or going; nothing to enforce there.
		case err != nil:
			return fmt.Errorf("creating quota singleton %s: %w", klog.KObj(rq), err)
		default:
			log.Info("Created quota singleton", "resourcequota", klog.KObj(rq))
		}
	}
	for i := range p.Update {
		rq := &p.Update[i]
		if err := r.Client.Update(ctx, rq); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("updating quota singleton %s: %w", klog.KObj(rq), err)
		}
		log.V(1).Info("Updated quota singleton", "resourcequota", klog.KObj(rq))
	}
	for i := range p.Delete {
		rq := &p.Delete[i]
		if err := r.Client.Delete(ctx, rq); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting quota singleton %s: %w", klog.KObj(rq), err)
		}
		log.Info("Deleted quota singleton", "resourcequota", klog.KObj(rq))
	}
	return nil
}

// isTerminating recognises the API server's refusal to create objects in a
// namespace being deleted.
func isTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}

// reconcileLedger matches the tree's ledger to the actual usage, or deletes
// it once the tree has no quota.
func (r *Reconciler) reconcileLedger(ctx context.Context, root string, hasQuotas bool, actual quota.Usage) error {
	stored, err := r.Ledgers.Get(ctx, root)
	if err != nil {
		return err
	}
	if !hasQuotas {
		return r.Ledgers.Delete(ctx, stored)
	}
	next := KeepReservations(stored.Ledger, actual, r.now(), r.grace())
	if stored.object != nil && maps.Equal(quota.EncodeLedger(next), quota.EncodeLedger(stored.Ledger)) {
		return nil
	}
	if err := r.Ledgers.Put(ctx, stored, next); err != nil {
		// A conflict means an admission reserved meanwhile: the returned
		// error requeues, and the next pass reads its reservation.
		return err
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Reconciled quota ledger")
	return nil
}

// KeepReservations is quota.Reconcile, except that an entry reserved less
// than grace ago keeps its reservation time even once the actual usage
// matches it. The status webhook refuses recounts below such an entry
// (kube-controller-manager may recount from a stale cache), so the mark must
// last the whole grace period, not only until the first match.
func KeepReservations(l *quota.Ledger, actual quota.Usage, now time.Time, grace time.Duration) *quota.Ledger {
	next, _ := quota.Reconcile(l, actual, now, grace)
	for k, e := range next.Entries {
		old, ok := l.Entries[k]
		if ok && e.ReservedAt.IsZero() && !old.ReservedAt.IsZero() && now.Sub(old.ReservedAt) < grace {
			e.ReservedAt = old.ReservedAt
			next.Entries[k] = e
		}
	}
	return next
}

// writeStatuses writes each quota's status when it changed.
func (r *Reconciler) writeStatuses(ctx context.Context, snap *quota.Snapshot, tq TreeQuotas) error {
	for i := range tq.HRQs {
		h := &tq.HRQs[i]
		st := HRQStatus(snap, h)
		if apiequality.Semantic.DeepEqual(h.Status, st) {
			continue
		}
		h = h.DeepCopy()
		h.Status = st
		// HNC's CRD has no status subresource: status is written with the
		// object, as HNC did.
		if err := r.Client.Update(ctx, h); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("updating status of HierarchicalResourceQuota %s: %w", klog.KObj(h), err)
		}
	}
	now := metav1.NewTime(r.now())
	for i := range tq.HQs {
		q := &tq.HQs[i]
		errs, _ := quota.ValidateHierarchicalQuota(snap, quota.FromHierarchicalQuota(q))
		invalid := ""
		if len(errs) > 0 {
			invalid = errs.ToAggregate().Error()
		}
		st := HQStatus(snap, q, invalid, now)
		if apiequality.Semantic.DeepEqual(q.Status, st) {
			continue
		}
		q = q.DeepCopy()
		q.Status = st
		if err := r.Client.Status().Update(ctx, q); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("updating status of HierarchicalQuota %s: %w", klog.KObj(q), err)
		}
	}
	return nil
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) resync() time.Duration {
	if r.Resync > 0 {
		return r.Resync
	}
	return DefaultResync
}

func (r *Reconciler) grace() time.Duration {
	if r.Grace > 0 {
		return r.Grace
	}
	return DefaultGrace
}
