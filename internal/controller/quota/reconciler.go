package quota

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
)

// Defaults for Reconciler.
const (
	// DefaultResync is how often a tree with quotas is reconciled without
	// an event, to settle reservations whose status update never
	// committed (see settle).
	DefaultResync = 15 * time.Second
	// AnnotationSettled is written on a singleton to settle the ledger
	// reservation made at the base it names (see settle).
	AnnotationSettled = "canopy.dev/settled-base"
	// DefaultWorkers is how many trees are reconciled at once.
	DefaultWorkers = 4
	// singletonWrites bounds the singleton writes one reconcile makes at
	// once: a quota set on the root of a large tree creates a singleton in
	// every namespace, and one at a time that took minutes at 3,000.
	singletonWrites = 16
)

// +kubebuilder:rbac:groups="",resources=resourcequotas,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=hnc.x-k8s.io,resources=hierarchicalresourcequotas,verbs=get;list;watch;update
// +kubebuilder:rbac:groups=hnc.x-k8s.io,resources=hierarchyconfigurations,verbs=get;list;watch;create;patch
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
	// Workers is how many trees are reconciled at once (DefaultWorkers
	// when zero). Each tree is reconciled by one worker at a time, so a
	// large tree's reconcile never holds up the others'.
	Workers int
	// Loaded reports whether the forest has loaded; nil means it has.
	// Until it has, every namespace would look like a tree of its own, and
	// reconciling would delete the singletons of every descendant.
	Loaded func() bool
	// Subscribe, when set, feeds the names of namespaces whose place in the
	// forest changed (forestsync's Syncer.Subscribe).
	Subscribe func(ctx context.Context, fn func(names []string))
	// Now is time.Now unless a test replaces it.
	Now func() time.Time

	// unsettled remembers, per tree, the reservations found unsettled and
	// since when, so that only one still unsettled a whole resync later is
	// settled by a write (a busy namespace settles by itself).
	mu        sync.Mutex
	unsettled map[string]map[quota.Key]unsettledSince
	// clamped holds the clamped singletons the events showed (noteClamp).
	clamped map[client.ObjectKey]bool
	// holdsSettled remembers, per tree and hold judgement, when the
	// leader first found a move's hold settled (holds.go).
	holdsSettled map[string]map[string]time.Time
	// queue is the controller's work queue, once it has started.
	queue workqueue.TypedRateLimitingInterface[reconcile.Request]
}

// redirect queues a reconcile of root, reporting false before the
// controller has started (Reconcile called directly).
func (r *Reconciler) redirect(root string) bool {
	r.mu.Lock()
	q := r.queue
	r.mu.Unlock()
	if q == nil {
		return false
	}
	q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: root}})
	return true
}

// setQueue remembers the controller's work queue (a raw source's start).
func (r *Reconciler) setQueue(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queue = q
}

// Reconcile brings one tree to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, err error) {
	defer func() { err = quietWhenStopping(ctx, err) }()
	if r.Loaded != nil && !r.Loaded() {
		// A timed requeue, not an error: nothing failed, the forest is
		// still loading (it notifies every namespace once loaded).
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	// A request queued under a namespace that was a root then (an event
	// mapped before the forest linked it, while a tree was being built)
	// goes to its tree's root: the queue merges every such request into
	// one, and only one worker ever holds a tree. Run here, thousands of
	// them each reconciled a whole large tree again, one after another,
	// while other trees waited behind them.
	if root, ok := stableRoot(r.Forest, req.Name); ok && root != req.Name && r.redirect(root) {
		return ctrl.Result{}, nil
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
	// 3. Write. The ledger first: it must exist before any singleton does,
	// or the webhook would have to create it while the API server's quota
	// admission waits for it, and a ConfigMap create itself waits for the
	// quota admission's workers (a deadlock until its 10 s timeout).
	ledger, look, err := r.reconcileLedger(ctx, v, len(quotas) > 0, desired, existing)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Clamps are judged on the usage admission decides with: the ledger's
	// unsettled reservations over the informer's committed usage.
	effective := snap
	busy := map[quota.Key]bool{}
	if ledger != nil {
		versions := ObservedVersions(existing)
		effective = quota.Effective(ledger, snap, versions)
		busy = r.busy(v.Root, quota.Unsettled(ledger, versions))
	}
	plan := PlanSingletons(existing, KeepClamps(existing, desired, effective, busy))
	if err := r.applySingletons(ctx, plan); err != nil {
		return ctrl.Result{}, err
	}
	if liftsClamp(existing, plan) {
		// The quotas' status may show the room the lifted clamp refused
		// only once the API server's quota admission has seen the lift.
		r.sleep(ctx, ClampSettle)
	}
	if err := r.writeStatuses(ctx, snap, tq); err != nil {
		return ctrl.Result{}, err
	}
	switch {
	case len(quotas) == 0:
		return ctrl.Result{}, nil
	case len(busy) > 0 && r.clampedTree(v.Root):
		// A clamp kept for a retry in flight is judged again once the
		// retry has had its time (see busy).
		return ctrl.Result{RequeueAfter: clampBusy}, nil
	case look > 0 && look < r.resync():
		// A move's hold is due to be fenced or dropped.
		return ctrl.Result{RequeueAfter: look}, nil
	}
	return ctrl.Result{RequeueAfter: r.resync()}, nil
}

func (r *Reconciler) applySingletons(ctx context.Context, p SingletonPlan) error {
	log := ctrl.LoggerFrom(ctx)
	var mu sync.Mutex
	var adopt []corev1.ResourceQuota
	err := parallel(p.Create, func(rq *corev1.ResourceQuota) error {
		WithEpoch(rq)
		err := r.Client.Create(ctx, rq)
		switch {
		case apierrors.IsAlreadyExists(err):
			// A ResourceQuota of that name that is not labelled yet; adopt it.
			cur := &corev1.ResourceQuota{}
			if err := r.Client.Get(ctx, client.ObjectKeyFromObject(rq), cur); err != nil {
				return fmt.Errorf("reading quota singleton %s: %w", klog.KObj(rq), err)
			}
			plan := PlanSingletons(map[string][]corev1.ResourceQuota{rq.Namespace: {*cur}}, map[string][]corev1.ResourceQuota{rq.Namespace: {*rq}})
			mu.Lock()
			adopt = append(adopt, plan.Update...)
			mu.Unlock()
		case apierrors.IsNotFound(err) || apierrors.IsForbidden(err) && isTerminating(err):
			// The namespace is gone or going; nothing to enforce there.
		case err != nil:
			return fmt.Errorf("creating quota singleton %s: %w", klog.KObj(rq), err)
		default:
			log.Info("Created quota singleton", "resourcequota", klog.KObj(rq))
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = parallel(append(p.Update, adopt...), func(rq *corev1.ResourceQuota) error {
		WithEpoch(rq)
		if err := WriteHard(ctx, r.Client, rq); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("updating quota singleton %s: %w", klog.KObj(rq), err)
		}
		log.V(1).Info("Updated quota singleton", "resourcequota", klog.KObj(rq))
		return nil
	})
	if err != nil {
		return err
	}
	return parallel(p.Delete, func(rq *corev1.ResourceQuota) error {
		if err := r.Client.Delete(ctx, rq); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting quota singleton %s: %w", klog.KObj(rq), err)
		}
		log.Info("Deleted quota singleton", "resourcequota", klog.KObj(rq))
		return nil
	})
}

// parallel runs write on every item, at most singletonWrites at once, and
// returns the first error after all have run. Every singleton belongs to
// another namespace, so the writes are independent; creates, updates and
// deletes still run as three phases in that order.
func parallel(items []corev1.ResourceQuota, write func(*corev1.ResourceQuota) error) error {
	var g errgroup.Group
	g.SetLimit(singletonWrites)
	for i := range items {
		g.Go(func() error { return write(&items[i]) })
	}
	return g.Wait()
}

// isTerminating recognises the API server's refusal to create objects in a
// namespace being deleted.
func isTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}

// reconcileLedger prunes the tree's ledger, takes its moves' holds a step
// and settles reservations left unsettled, or deletes the ledger once the
// tree has no quota. It returns the ledger as written (nil once deleted),
// and when a hold needs the next look (0 for none).
func (r *Reconciler) reconcileLedger(ctx context.Context, v TreeView, hasQuotas bool, desired, existing map[string][]corev1.ResourceQuota) (*quota.Ledger, time.Duration, error) {
	stored, err := r.Ledgers.Get(ctx, v.Root)
	if err != nil {
		return nil, 0, err
	}
	if !hasQuotas {
		r.remember(v.Root, nil, r.now())
		r.forgetHolds(v.Root, nil)
		return nil, 0, r.Ledgers.Delete(ctx, stored)
	}
	next, changed := quota.Prune(stored.Ledger, KeepEntry(v, desired))
	holds := len(next.Holds)
	next, look, err := r.reconcileHolds(ctx, v.Root, next)
	if err != nil {
		return nil, 0, err
	}
	if changed || len(next.Holds) != holds || stored.Missing() {
		if err := r.Ledgers.Put(ctx, stored, next); err != nil {
			// A conflict means an admission reserved meanwhile: the
			// returned error requeues, and the next pass reads it.
			return nil, 0, err
		}
		ctrl.LoggerFrom(ctx).V(1).Info("Pruned quota ledger")
	}
	return next, look, r.settle(ctx, v.Root, next, existing)
}

// KeepEntry says which ledger entries a tree still needs: those of its
// existing namespaces under a scope some quota covers there (the desired
// singletons). It depends on the leader's forest, never on whether an
// informer shows an entry settled.
func KeepEntry(v TreeView, desired map[string][]corev1.ResourceQuota) func(quota.Key) bool {
	return func(k quota.Key) bool {
		for _, rq := range desired[k.Namespace] {
			if rq.Name == quota.SingletonName(k.Scope) {
				return true
			}
		}
		return false
	}
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
