package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/crdstate"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/forestsync"
)

// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=limitranges,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=hnc.x-k8s.io,resources=subnamespaceanchors;hierarchyconfigurations,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=tenancy.canopy.dev,resources=hierarchicalquotas,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings;mutatingadmissionpolicies;mutatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconciler expands Tenants into their trees. It runs on the leader only.
type Reconciler struct {
	// Client is the manager's cached client; writes go straight to the API.
	Client client.Client
	// Reader reads the API without a cache: workload checks and the
	// label-selected lists of generated objects, so the manager caches
	// neither pods nor every NetworkPolicy in the cluster.
	Reader   client.Reader
	Forest   *forest.Forest
	Recorder events.EventRecorder
	// Subscribe is told which namespaces changed (forestsync.Syncer).
	Subscribe func(ctx context.Context, fn func(names []string))
	// Loaded reports whether the forest has loaded; until then nothing is
	// decided, so a half-loaded tree (a subnamespace seen before its
	// anchor, a child before its parent) never prunes nor deletes. Nil
	// means loaded.
	Loaded func() bool
}

// waitRequeue paces re-checks of things only time resolves: namespaces
// emptying of workloads, and bottom-up deletion.
const waitRequeue = 5 * time.Second

// loadingRequeue paces reconciles that wait for the forest to load.
const loadingRequeue = time.Second

// SetupWithManager watches Tenants; every namespace change in a tree,
// mapped to the tree's root (which is the Tenant's name); and every object
// a Tenant generated, mapped back by its generated-by label, so drift is
// reverted at once (see watch.go).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).Named("tenant").For(&tenancyv1.Tenant{})
	if r.Subscribe != nil {
		b = b.WatchesRawSource(forestsync.RootsSource(r.Forest, r.Subscribe))
	}
	return b.WatchesRawSource(driftWatch(mgr)).Complete(r)
}

// Reconcile adds the finalizer, converges the tree and writes status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	t := &tenancyv1.Tenant{}
	if err := r.Client.Get(ctx, req.NamespacedName, t); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if t.Spec.Placement != nil {
		// A fleet Tenant: a hub places it on members. Its owners may
		// still read it, and so its fleet chargeback, on the hub.
		return ctrl.Result{}, r.fleetOwnerAccess(ctx, t)
	}
	ctx = ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("tenant", klog.KObj(t)))
	if r.Loaded != nil && !r.Loaded() {
		return ctrl.Result{RequeueAfter: loadingRequeue}, nil
	}
	if t.DeletionTimestamp != nil {
		return r.finalize(ctx, t)
	}
	// During an uninstall the trees come apart (HNC's CRDs go, anchors are
	// released) before the Tenants go: reconciling now would strip the
	// bindings and policies of namespaces that only seem to have left.
	switch crd, err := crdstate.AnyDeleting(ctx, r.Reader); {
	case err != nil:
		return ctrl.Result{}, err
	case crd != "":
		ctrl.LoggerFrom(ctx).Info("Not reconciling Tenant; Canopy is being uninstalled", "crd", crd)
		return ctrl.Result{}, nil
	}
	if !controllerutil.ContainsFinalizer(t, tenancyv1.FinalizerTenant) {
		patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{}) // finalizers are a list other controllers share
		controllerutil.AddFinalizer(t, tenancyv1.FinalizerTenant)
		if err := r.Client.Patch(ctx, t, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding finalizer: %w", err)
		}
	}

	r.Forest.Lock()
	tree := Governed(ReadTree(r.Forest, t.Name))
	exists := map[string]bool{}
	for _, n := range append([]string{t.Name}, listed(t)...) {
		exists[n] = r.Forest.Lookup(n).Exists()
	}
	r.Forest.Unlock()

	o := Outcome{HasQuota: Quota(t) != nil}
	var errs []error
	record := func(dst *string, err error) {
		if err != nil {
			*dst = err.Error()
			errs = append(errs, err)
		}
	}
	// The gate first: it must hold before anything of the tree but its
	// (gated) root is written, and an owner reaches any namespace (see
	// gate.go).
	if err := r.gate(ctx, t); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.ensureRoot(ctx, t, exists); err != nil {
		return ctrl.Result{}, err
	}
	if enforced, err := r.gateEnforced(ctx, t); err != nil || !enforced {
		return ctrl.Result{RequeueAfter: probeRequeue}, err
	}
	record(&o.NamespacesErr, r.namespaces(ctx, t, tree, exists, &o))
	record(&o.RBACErr, r.rbac(ctx, t))
	record(&o.QuotaErr, r.quota(ctx, t, exists[t.Name]))
	record(&o.PoliciesErr, r.policies(ctx, t, Names(tree)))
	gated := false
	if o.NamespacesErr == "" && o.PoliciesErr == "" {
		var err error
		gated, err = r.openGates(ctx, t, Names(tree))
		record(&o.PoliciesErr, err)
	}

	if err := r.writeStatus(ctx, t, Names(tree), Conditions(o, t.Generation)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return ctrl.Result{}, err
	}
	if t.Generation != t.Status.ObservedGeneration {
		// Once per spec change: everything the new spec asks for was
		// written (namespaces may still be appearing; conditions say so).
		r.event(t, nil, corev1.EventTypeNormal, ReasonApplied, "Apply", "Applied generation %d of the spec", t.Generation)
	}
	if len(o.Kept) > 0 {
		return ctrl.Result{RequeueAfter: waitRequeue}, nil
	}
	if gated {
		return ctrl.Result{RequeueAfter: probeRequeue}, nil
	}
	return ctrl.Result{}, nil
}

// ensureRoot creates the root namespace, gated, when it is missing.
func (r *Reconciler) ensureRoot(ctx context.Context, t *tenancyv1.Tenant, exists map[string]bool) error {
	root := &corev1.Namespace{}
	switch err := r.Client.Get(ctx, client.ObjectKey{Name: t.Name}, root); {
	case apierrors.IsNotFound(err):
		rootNS := Namespace(t, t.Name)
		_, rootNS.Annotations = CreationMeta(t)
		if err := apply(ctx, r.Client, rootNS); err != nil {
			return fmt.Errorf("creating root namespace: %w", err)
		}
		r.event(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.Name}}, corev1.EventTypeNormal, ReasonCreated, "Create", "Created root namespace %s", t.Name)
		exists[t.Name] = true
		return nil
	case err != nil:
		return fmt.Errorf("getting root namespace: %w", err)
	}
	return nil
}

func listed(t *tenancyv1.Tenant) []string {
	out := make([]string, len(t.Spec.Namespaces))
	for i, n := range t.Spec.Namespaces {
		out[i] = n.Name
	}
	return out
}

// namespaces applies the root, the anchors and every namespace's labels,
// and deletes anchors no longer listed unless their subtree holds
// workloads.
func (r *Reconciler) namespaces(ctx context.Context, t *tenancyv1.Tenant, tree []TreeNode, exists map[string]bool, o *Outcome) error {
	var generated []types.NamespacedName
	anchors := &hncv1.SubnamespaceAnchorList{}
	if err := r.Reader.List(ctx, anchors, client.MatchingLabels{LabelGenerated: t.Name}); err != nil {
		return fmt.Errorf("listing generated anchors: %w", err)
	}
	for _, a := range anchors.Items {
		generated = append(generated, client.ObjectKeyFromObject(&a))
	}
	plan := PlanAnchors(t, func(n string) bool { return exists[n] }, generated)
	o.Missing = plan.Missing
	var errs []error
	desired := map[types.NamespacedName]*hncv1.SubnamespaceAnchor{}
	for _, a := range Anchors(t) {
		desired[client.ObjectKeyFromObject(a)] = a
	}
	for _, key := range plan.Create {
		if !slices.Contains(generated, key) {
			r.event(t, desired[key], corev1.EventTypeNormal, ReasonCreated, "Create", "Created subnamespace anchor %s", key)
		}
		errs = append(errs, apply(ctx, r.Client, desired[key]))
	}
	for _, key := range plan.Stale {
		held, err := holdings(ctx, r.Reader, Subtree(tree, key.Name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(held) > 0 {
			o.Kept = append(o.Kept, held...)
			r.event(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: key.Name}}, corev1.EventTypeWarning, ReasonNamespaceHolds, "Keep", "Kept namespace %s, removed from spec.namespaces, because it holds workloads", key.Name)
			continue
		}
		a := &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		if err := deleteIgnoringMissing(ctx, r.Client, a); err != nil {
			errs = append(errs, err)
			continue
		}
		r.event(t, a, corev1.EventTypeNormal, ReasonDeleted, "Delete", "Deleted subnamespace anchor %s, removed from spec.namespaces", key)
	}
	for _, n := range tree {
		errs = append(errs, r.labelNamespace(ctx, t, n.Name))
	}
	return errors.Join(errs...)
}

// labelNamespace applies the tenant's labels to an existing namespace.
func (r *Reconciler) labelNamespace(ctx context.Context, t *tenancyv1.Tenant, name string) error {
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}
	if ns.DeletionTimestamp != nil || !needsLabels(t, ns) {
		return nil
	}
	cfg := Namespace(t, name)
	if v, ok := ns.Annotations[AnnotationGuardrailsPending]; ok {
		// Still gated: keep the annotation until openGates removes it.
		if cfg.Annotations == nil {
			cfg.Annotations = map[string]string{}
		}
		cfg.Annotations[AnnotationGuardrailsPending] = v
	}
	return applyExisting(ctx, r.Client, cfg, ns.ResourceVersion)
}

// needsLabels reports whether ns lacks any label or annotation the tenant
// sets, so converged namespaces cost no write.
func needsLabels(t *tenancyv1.Tenant, ns *corev1.Namespace) bool {
	labels, annotations := NamespaceMeta(t)
	for k, v := range labels {
		if ns.Labels[k] != v {
			return true
		}
	}
	for k, v := range annotations {
		if ns.Annotations[k] != v {
			return true
		}
	}
	// After a spec change every namespace is re-applied once, so labels the
	// spec dropped are removed.
	return t.Generation != t.Status.ObservedGeneration
}

// rbac applies the root's RoleBindings and the owners' access to their
// Tenant, and prunes stale bindings.
func (r *Reconciler) rbac(ctx context.Context, t *tenancyv1.Tenant) error {
	var errs []error
	want := map[string]bool{}
	for _, rb := range RoleBindings(t) {
		want[rb.Name] = true
		err := apply(ctx, r.Client, rb)
		if apierrors.IsInvalid(err) {
			// roleRef is immutable: a binding whose ClusterRole changed is
			// replaced.
			if err = deleteIgnoringMissing(ctx, r.Client, rb.DeepCopy()); err == nil {
				err = apply(ctx, r.Client, rb)
			}
		}
		errs = append(errs, err)
	}
	existing := &rbacv1.RoleBindingList{}
	if err := r.Reader.List(ctx, existing, client.InNamespace(t.Name), client.MatchingLabels{LabelGenerated: t.Name}); err != nil {
		errs = append(errs, fmt.Errorf("listing generated role bindings: %w", err))
	}
	for i := range existing.Items {
		rb := &existing.Items[i]
		if !want[rb.Name] && rb.Labels[hncv1.LabelInheritedFrom] == "" {
			errs = append(errs, deleteIgnoringMissing(ctx, r.Client, rb))
		}
	}
	cr, crb := OwnerAccess(t)
	if cr != nil {
		errs = append(errs, apply(ctx, r.Client, cr), apply(ctx, r.Client, crb))
	} else {
		errs = append(errs, r.deleteOwnerAccess(ctx, t))
	}
	return errors.Join(errs...)
}

// quota applies or removes the tenant quota at the root.
func (r *Reconciler) quota(ctx context.Context, t *tenancyv1.Tenant, rootExists bool) error {
	q := Quota(t)
	if q == nil {
		return deleteIgnoringMissing(ctx, r.Client, &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: t.Name, Name: QuotaName}})
	}
	if !rootExists {
		return nil
	}
	return apply(ctx, r.Client, q)
}

// policies applies the per-namespace defaults and isolation, prunes them
// where they are no longer wanted, and applies the admission policies.
func (r *Reconciler) policies(ctx context.Context, t *tenancyv1.Tenant, tree []string) error {
	var errs []error
	for _, ns := range tree {
		if lr := LimitRange(t, ns); lr != nil {
			errs = append(errs, apply(ctx, r.Client, lr))
		}
		if np := NetworkPolicy(t, ns); np != nil {
			errs = append(errs, apply(ctx, r.Client, np))
		}
	}
	inTree := func(ns string) bool { return slices.Contains(tree, ns) }
	lrs := &corev1.LimitRangeList{}
	if err := r.Reader.List(ctx, lrs, client.MatchingLabels{LabelGenerated: t.Name}); err != nil {
		errs = append(errs, fmt.Errorf("listing generated limit ranges: %w", err))
	}
	for i := range lrs.Items {
		if LimitRange(t, lrs.Items[i].Namespace) == nil || !inTree(lrs.Items[i].Namespace) {
			errs = append(errs, deleteIgnoringMissing(ctx, r.Client, &lrs.Items[i]))
		}
	}
	nps := &networkingv1.NetworkPolicyList{}
	if err := r.Reader.List(ctx, nps, client.MatchingLabels{LabelGenerated: t.Name}); err != nil {
		errs = append(errs, fmt.Errorf("listing generated network policies: %w", err))
	}
	for i := range nps.Items {
		if NetworkPolicy(t, nps.Items[i].Namespace) == nil || !inTree(nps.Items[i].Namespace) {
			errs = append(errs, deleteIgnoringMissing(ctx, r.Client, &nps.Items[i]))
		}
	}

	name := ClusterName(t.Name)
	if vap, b := ValidatingPolicy(t); vap != nil {
		errs = append(errs, apply(ctx, r.Client, vap), apply(ctx, r.Client, b))
	} else {
		errs = append(errs,
			deleteIgnoringMissing(ctx, r.Client, &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}),
			deleteIgnoringMissing(ctx, r.Client, &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}))
	}
	if m, b := MutatingPolicy(t); m != nil {
		errs = append(errs, apply(ctx, r.Client, m), apply(ctx, r.Client, b))
	} else {
		errs = append(errs,
			deleteIgnoringMissing(ctx, r.Client, &admissionv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}),
			deleteIgnoringMissing(ctx, r.Client, &admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}))
	}
	return errors.Join(errs...)
}

// event records an Event about the Tenant. related is the object the
// change was made to, or nil: events.k8s.io merges events of one regarding
// object, reason, action and related object into a series keeping the
// first note, so without it the creation of a second anchor would only
// count up the first one's event.
func (r *Reconciler) event(t *tenancyv1.Tenant, related client.Object, typ, reason, action, note string, args ...any) {
	if r.Recorder == nil {
		return
	}
	if related == nil {
		r.Recorder.Eventf(t, nil, typ, reason, action, note, args...)
		return
	}
	r.Recorder.Eventf(t, related, typ, reason, action, note, args...)
}
