package cost

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/forest"
)

// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants,verbs=get;list;watch
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants/status,verbs=patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Defaults.
const (
	DefaultInterval = time.Hour
	DefaultDebounce = 10 * time.Second
	DefaultCurrency = "USD"
	// DefaultBackoff is the first wait after a failed read; it doubles
	// with every further failure, up to the interval.
	DefaultBackoff = 30 * time.Second
)

// Key is the one work item: every run reports on all tenants.
var Key = reconcile.Request{NamespacedName: types.NamespacedName{Name: "cost-report"}}

// Config tunes the reconciler; zero values take the defaults.
type Config struct {
	Interval time.Duration
	Debounce time.Duration
	Backoff  time.Duration
	Currency string
	Rollup   cost.Options
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Debounce <= 0 {
		c.Debounce = DefaultDebounce
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if c.Rollup.Idle == "" {
		c.Rollup.Idle = cost.Separate
	}
	if c.Rollup.Shared == "" {
		c.Rollup.Shared = cost.Separate
	}
	return c
}

// Reconciler reports every tenant's cost.
type Reconciler struct {
	Client   client.Client
	OpenCost opencost.Client
	Forest   *forest.Forest
	Recorder events.EventRecorder
	// Collector, if set, receives every successful report.
	Collector *Collector
	Config    Config
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	failures int
	retryAt  time.Time
	// announced remembers the thresholds announced per tenant, covering
	// the cache lag right after a status write.
	announced map[string]announcement
}

type announcement struct {
	month   string
	crossed []int32
}

// SetupWithManager registers the reconciler as a leader-only controller
// with one work item, queued a debounce after Tenant changes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	cfg := r.Config.withDefaults()
	if err := cfg.Rollup.Validate(); err != nil {
		return fmt.Errorf("cost options: %w", err)
	}
	enqueue := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) { q.AddAfter(Key, cfg.Debounce) }
	return ctrl.NewControllerManagedBy(mgr).
		Named("cost").
		Watches(&tenancyv1.Tenant{}, handler.Funcs{
			CreateFunc: func(_ context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueue(q)
			},
			UpdateFunc: func(_ context.Context, _ event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueue(q)
			},
			DeleteFunc: func(_ context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				enqueue(q)
			},
		}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile reads OpenCost, then writes every tenant's status. It requeues
// itself after the interval, or after the backoff when the read failed.
func (r *Reconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	cfg := r.Config.withDefaults()
	log := ctrl.LoggerFrom(ctx)
	now := r.now()
	r.mu.Lock()
	wait := r.retryAt.Sub(now)
	r.mu.Unlock()
	if wait > 0 {
		// A Tenant change during the backoff waits for it.
		return ctrl.Result{RequeueAfter: wait}, nil
	}

	list := &tenancyv1.TenantList{}
	if err := r.Client.List(ctx, list); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing tenants: %w", err)
	}
	dir := BuildDirectory(r.Forest, list.Items)
	rep, readErr := Read(ctx, r.OpenCost, dir, cfg.Rollup, cfg.Currency, now)
	if readErr != nil {
		delay := r.fail(now, cfg)
		log.Error(readErr, "Reading cost from OpenCost", "reason", opencost.Reason(readErr), "retryAfter", delay)
		var errs []error
		for i := range list.Items {
			if err := r.apply(ctx, &list.Items[i], FailureStatus(&list.Items[i], readErr), now); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			log.Error(err, "Writing CostAvailable=False")
		}
		return ctrl.Result{RequeueAfter: delay}, nil
	}
	r.succeed()
	if r.Collector != nil {
		r.Collector.SetReport(rep)
	}
	var errs []error
	for i := range list.Items {
		if err := r.report(ctx, &list.Items[i], rep, now); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return ctrl.Result{}, err
	}
	log.V(1).Info("Reported cost", "tenants", len(list.Items), "monthToDate", rep.MonthToDate.String())
	return ctrl.Result{RequeueAfter: cfg.Interval}, nil
}

// fail records a failed read and returns the backoff before the next.
func (r *Reconciler) fail(now time.Time, cfg Config) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	delay := cfg.Backoff
	for i := 0; i < r.failures && delay < cfg.Interval; i++ {
		delay *= 2
	}
	delay = min(delay, cfg.Interval)
	r.failures++
	r.retryAt = now.Add(delay)
	return delay
}

func (r *Reconciler) succeed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures, r.retryAt = 0, time.Time{}
}

// report writes one tenant's status from rep, then announces the budget
// thresholds it newly crossed. Events follow a successful write, whose
// condition records them, so each is announced once.
func (r *Reconciler) report(ctx context.Context, t *tenancyv1.Tenant, rep *Report, now time.Time) error {
	month := rep.MonthToDate.Start.Format("2006-01")
	prev, known := PreviouslyCrossed(t.Status.Conditions, month)
	r.mu.Lock()
	if a, ok := r.announced[t.Name]; ok && a.month == month {
		for _, p := range a.crossed {
			if !slices.Contains(prev, p) {
				prev = append(prev, p)
			}
		}
		known = true
	}
	r.mu.Unlock()
	var spent cost.Micro
	if tr := rep.Tenants[t.Name]; tr != nil {
		spent = tr.MonthToDate
	}
	b := DecideBudget(t, spent, rep.Currency, month, prev, known)
	if err := r.apply(ctx, t, SuccessStatus(t, rep, b.Condition), now); err != nil {
		return err
	}
	r.mu.Lock()
	if r.announced == nil {
		r.announced = map[string]announcement{}
	}
	r.announced[t.Name] = announcement{month: month, crossed: b.Crossed}
	r.mu.Unlock()
	for _, p := range b.NewlyCrossed {
		typ := corev1.EventTypeNormal
		if p >= 100 {
			typ = corev1.EventTypeWarning
		}
		if r.Recorder != nil {
			r.Recorder.Eventf(t, nil, typ, EventBudgetThresholdCrossed, "ReportCost",
				"Month-to-date spend %s %s reached %d%% of the monthly budget of %s %s",
				cost.RoundCent(b.Status.Spent), rep.Currency, p, cost.RoundCent(b.Status.Budget), rep.Currency)
		}
	}
	return nil
}

// apply writes the owned status fields once, when they changed.
func (r *Reconciler) apply(ctx context.Context, t *tenancyv1.Tenant, o Owned, now time.Time) error {
	u, changed, err := StatusApply(t, o, metav1.NewTime(now.UTC().Truncate(time.Second)))
	if err != nil || !changed {
		return err
	}
	if err := r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying the cost status of tenant %s: %w", klog.KObj(t), err)
	}
	return nil
}
