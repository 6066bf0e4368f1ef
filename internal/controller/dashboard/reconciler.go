package dashboard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/forestsync"
	"github.com/canopyhq/canopy/internal/grafana"
)

// The credentials Secret lives in the manager's namespace: the generated
// RBAC grants get on Secrets there only (a namespaced Role), never
// cluster-wide. A deployment may narrow it further with resourceNames.
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants/status,verbs=patch
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups="",namespace=canopy-system,resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconciler syncs Tenants into Grafana. It runs on the leader only.
type Reconciler struct {
	// Client is the manager's cached client, for Tenants.
	Client client.Client
	// Reader reads the credentials Secret without a cache.
	Reader client.Reader
	// CRDReader reads the Tenant CRD without a cache, to tell an uninstall
	// (see finalize); nil never sees one.
	CRDReader client.Reader
	Forest    *forest.Forest
	Recorder  events.EventRecorder
	Config    Config
	// NewClient builds a Grafana client; nil means grafana.NewOpenAPIClient.
	NewClient func(grafana.Config) (grafana.Client, error)
	// Subscribe is told which namespaces changed (forestsync.Syncer).
	Subscribe func(ctx context.Context, fn func(names []string))
	// Loaded reports whether the forest has loaded; until then nothing is
	// synced, so a half-loaded tree never prunes a team's space.
	Loaded func() bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	clients clientCache
}

// loadingRequeue paces reconciles that wait for the forest to load.
const loadingRequeue = 2 * time.Second

// conflictRetry paces the retry after a routine optimistic-lock conflict.
const conflictRetry = 200 * time.Millisecond

// SetupWithManager watches Tenants (spec changes and deletions, not status
// writes) and every namespace change in a tree, mapped to its root, which
// is the Tenant's name.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).Named("dashboard").
		For(&tenancyv1.Tenant{}, builder.WithPredicates(tenantChanged()))
	if r.Subscribe != nil {
		b = b.WatchesRawSource(forestsync.RootsSource(r.Forest, r.Subscribe))
	}
	return b.Complete(r)
}

// tenantChanged passes creations, spec changes, the start of a deletion
// and finalizer changes; status writes (this controller's and others')
// do not wake it.
func tenantChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			if e.ObjectOld == nil || e.ObjectNew == nil {
				return true
			}
			return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() ||
				(e.ObjectOld.GetDeletionTimestamp() == nil) != (e.ObjectNew.GetDeletionTimestamp() == nil) ||
				!slices.Equal(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers())
		},
	}
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile adds the finalizer, syncs Grafana and writes status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	t := &tenancyv1.Tenant{}
	if err := r.Client.Get(ctx, req.NamespacedName, t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("tenant", klog.KObj(t)))
	if t.DeletionTimestamp != nil {
		return r.finalize(ctx, t)
	}
	if r.Loaded != nil && !r.Loaded() {
		return ctrl.Result{RequeueAfter: loadingRequeue}, nil
	}
	if !controllerutil.ContainsFinalizer(t, Finalizer) {
		// Optimistic lock: the tenant controller edits the same list.
		patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(t, Finalizer)
		if err := r.Client.Patch(ctx, t, patch); err != nil {
			if apierrors.IsConflict(err) {
				// Routine: decide again on the newer version.
				return ctrl.Result{RequeueAfter: conflictRetry}, nil
			}
			return ctrl.Result{}, fmt.Errorf("adding finalizer: %w", err)
		}
	}

	// During an uninstall the trees come apart before the Tenants go: a sync
	// now would prune the folders, teams and dashboards of teams whose
	// namespaces only seem to have left. Write nothing to Grafana.
	switch uninstall, err := r.uninstalling(ctx); {
	case err != nil:
		return ctrl.Result{}, err
	case uninstall:
		ctrl.LoggerFrom(ctx).Info("Not syncing Grafana; Canopy is being uninstalled")
		return ctrl.Result{}, nil
	}

	st, pending := r.desired(t)
	o := Outcome{GrafanaURL: r.Config.URL, Pending: pending}
	if len(st.Teams) > 0 {
		o.Result, o.Err = r.sync(ctx, st)
	}
	if o.Result.Writes > 0 && o.Err == nil {
		r.event(t, corev1.EventTypeNormal, "GrafanaSynced", "Synced Grafana with %d write(s)", o.Result.Writes)
	}
	if err := r.writeStatus(ctx, t, Condition(o, t.Generation), o.Result.DashboardURL); err != nil {
		return ctrl.Result{}, errors.Join(o.Err, err)
	}
	if o.Err != nil {
		// A ConfigError waits for a change or the resync; anything else
		// backs off exponentially through the workqueue.
		if Reason(o.Err) == ReasonConfigInvalid {
			ctrl.LoggerFrom(ctx).Info("Grafana configuration invalid", "error", o.Err.Error())
			return ctrl.Result{RequeueAfter: r.Config.resync()}, nil
		}
		return ctrl.Result{}, fmt.Errorf("syncing Grafana: %w", o.Err)
	}
	return ctrl.Result{RequeueAfter: r.Config.resync()}, nil
}

// desired builds the tenant's Grafana state from the forest, leaving out
// the teams whose namespace is not in the tenant's tree (reported as
// pending). With no root, it has no teams.
func (r *Reconciler) desired(t *tenancyv1.Tenant) (grafana.TenantState, []string) {
	roots := []string{t.Name}
	for _, tm := range t.Spec.Teams {
		roots = append(roots, tm.Namespace)
	}
	subtrees := map[string][]string{}
	r.Forest.Lock()
	for _, root := range roots {
		subtrees[root] = subtreeIn(r.Forest, t.Name, root)
	}
	r.Forest.Unlock()

	st := grafana.FromTenant(t, func(root string) []string { return subtrees[root] }, r.Config.datasourceURL(t.Name))
	if r.Config.DatasourceToken != nil {
		st.DatasourceToken = r.Config.DatasourceToken(t.Name, t.UID)
	}
	var pending []string
	if len(subtrees[t.Name]) == 0 {
		st.Teams = nil
		return st, []string{fmt.Sprintf("%s (namespace %s)", t.Name, t.Name)}
	}
	teams := st.Teams[:0]
	for _, team := range st.Teams {
		if len(team.Namespaces) == 0 {
			pending = append(pending, fmt.Sprintf("%s (namespace %s)", team.Name, teamNamespace(t, team.Name)))
			continue
		}
		teams = append(teams, team)
	}
	st.Teams = teams
	return st, pending
}

func teamNamespace(t *tenancyv1.Tenant, team string) string {
	for _, tm := range t.Spec.Teams {
		if tm.Name == team {
			return tm.Namespace
		}
	}
	return ""
}

// subtreeIn returns root and its existing descendants, or nil when root is
// not an existing namespace of the tree of tenant. The caller holds the
// forest's lock.
func subtreeIn(f *forest.Forest, tenant, root string) []string {
	ns := f.Lookup(root)
	if !ns.Exists() || !slices.Contains(ns.AncestryNames(), tenant) {
		return nil
	}
	out := []string{root}
	for _, d := range ns.DescendantNames() {
		if f.Lookup(d).Exists() {
			out = append(out, d)
		}
	}
	return out
}

// provisioner reads the credentials and returns a Provisioner over a
// (cached) client.
func (r *Reconciler) provisioner(ctx context.Context) (*grafana.Provisioner, error) {
	gc, err := r.Config.grafanaConfig(ctx, r.Reader)
	if err != nil {
		return nil, err
	}
	c, err := r.clients.get(gc, r.NewClient)
	if err != nil {
		return nil, err
	}
	return &grafana.Provisioner{Client: c, BaseURL: r.Config.publicURL(), SharedOrgID: r.Config.OrgID}, nil
}

func (r *Reconciler) sync(ctx context.Context, st grafana.TenantState) (grafana.Result, error) {
	p, err := r.provisioner(ctx)
	if err != nil {
		return grafana.Result{}, err
	}
	return p.Sync(ctx, st)
}

// writeStatus applies the owned status fields once, when they changed.
func (r *Reconciler) writeStatus(ctx context.Context, t *tenancyv1.Tenant, cond metav1.Condition, url string) error {
	u, changed, err := Status(t, cond, url, metav1.NewTime(r.now()))
	if err != nil || !changed {
		return err
	}
	if err := r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying status: %w", err)
	}
	return nil
}

func (r *Reconciler) event(t *tenancyv1.Tenant, typ, reason, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(t, nil, typ, reason, "Reconcile", note, args...)
	}
}
