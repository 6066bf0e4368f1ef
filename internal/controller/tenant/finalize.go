package tenant

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/crdstate"
)

// finalize tears the Tenant down following its deletion policy, then
// removes the finalizer. While the Tenant CRD is being deleted (an
// uninstall) it removes the finalizer and tears nothing down, whatever the
// policy: the API server deletes every Tenant then, and the platform did
// not ask for any tree to go.
func (r *Reconciler) finalize(ctx context.Context, t *tenancyv1.Tenant) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(t, tenancyv1.FinalizerTenant) {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx)
	crd, err := crdstate.AnyDeleting(ctx, r.Reader)
	if err != nil {
		return ctrl.Result{}, err
	}
	if crd != "" {
		if err := r.removeFinalizer(ctx, t); err != nil {
			return ctrl.Result{}, err
		}
		r.event(t, nil, corev1.EventTypeNormal, ReasonReleased, "Release",
			"Released without teardown: CRD %s is being deleted (an uninstall); namespaces, their contents and the generated guardrails stay", crd)
		log.Info("Tenant released without teardown; Canopy is being uninstalled", "crd", crd, "deletionPolicy", t.Spec.DeletionPolicy)
		return ctrl.Result{}, nil
	}
	r.Forest.Lock()
	tree := ReadTree(r.Forest, t.Name)
	r.Forest.Unlock()

	if t.Spec.DeletionPolicy == tenancyv1.DeletionDelete {
		done, err := r.deleteTree(ctx, t, tree)
		if err != nil || !done {
			return ctrl.Result{RequeueAfter: waitRequeue}, err
		}
	}
	// Both policies: remove the guardrails. Under Delete the namespaced ones
	// went with their namespaces.
	if err := r.removeGuardrails(ctx, t, Names(tree)); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.removeFinalizer(ctx, t); err != nil {
		return ctrl.Result{}, err
	}
	log.Info("Tenant torn down", "deletionPolicy", t.Spec.DeletionPolicy, "namespaces", len(tree))
	return ctrl.Result{}, nil
}

func (r *Reconciler) removeFinalizer(ctx context.Context, t *tenancyv1.Tenant) error {
	patch := client.MergeFromWithOptions(t.DeepCopy(), client.MergeFromWithOptimisticLock{}) // finalizers are a list other controllers share
	controllerutil.RemoveFinalizer(t, tenancyv1.FinalizerTenant)
	if err := r.Client.Patch(ctx, t, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}

// removeGuardrails deletes the generated policy objects and the owners'
// access to the Tenant, and removes every label the Tenant set from the
// namespaces that remain. Anchors and RoleBindings stay (see the package
// doc), so the root stays an ordinary HNC root.
func (r *Reconciler) removeGuardrails(ctx context.Context, t *tenancyv1.Tenant, tree []string) error {
	noPolicies := t.DeepCopy()
	noPolicies.Spec.Policies, noPolicies.Spec.NamespaceDefaults = nil, nil
	errs := []error{
		r.policies(ctx, noPolicies, nil),
		r.deleteGate(ctx, t),
		r.deleteOwnerAccess(ctx, t),
		deleteIgnoringMissing(ctx, r.Client, &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: t.Name, Name: QuotaName}}),
	}
	for _, name := range tree {
		ns := &corev1.Namespace{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			errs = append(errs, client.IgnoreNotFound(err))
			continue
		}
		if ns.DeletionTimestamp != nil {
			continue
		}
		// An empty configuration under canopy-tenant drops every field
		// this manager owned: the tenant, Pod Security and default labels.
		empty := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: name}}
		errs = append(errs, applyExisting(ctx, r.Client, empty, ns.ResourceVersion))
		errs = append(errs, r.removeLeftoverMeta(ctx, t, name))
	}
	return errors.Join(errs...)
}

// removeLeftoverMeta removes what the empty apply left of the Tenant's
// labels and annotations on namespace name: a namespace the anchor
// reconciler created carries them under its own field manager too (see
// CreationMeta). Only keys still holding the Tenant's values are removed.
func (r *Reconciler) removeLeftoverMeta(ctx context.Context, t *tenancyv1.Tenant, name string) error {
	ns := &corev1.Namespace{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}
	labels, annotations := CreationMeta(t)
	var lk, ak []string
	for k, v := range labels {
		if got, ok := ns.Labels[k]; ok && got == v {
			lk = append(lk, k)
		}
	}
	for k, v := range annotations {
		if got, ok := ns.Annotations[k]; ok && got == v {
			ak = append(ak, k)
		}
	}
	if len(lk)+len(ak) == 0 || ns.DeletionTimestamp != nil {
		return nil
	}
	return removeMeta(ctx, r.Client, ns, lk, ak)
}

// deleteTree deletes the tree bottom-up: each pass deletes the current
// leaves (through their anchors when they are anchored subnamespaces,
// directly otherwise), and the root
// once it is alone. It refuses, with a condition, while a namespace holds
// workloads unless spec.force. It reports done once the root is gone.
func (r *Reconciler) deleteTree(ctx context.Context, t *tenancyv1.Tenant, tree []TreeNode) (bool, error) {
	if len(tree) == 0 {
		root := &corev1.Namespace{}
		err := r.Client.Get(ctx, client.ObjectKey{Name: t.Name}, root)
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	}
	if !t.Spec.Force {
		held, err := holdings(ctx, r.Reader, Names(tree))
		if err != nil {
			return false, err
		}
		if len(held) > 0 {
			o := Outcome{HasQuota: Quota(t) != nil, DeletionBlocked: held}
			conds := Conditions(o, t.Generation)
			r.event(t, nil, corev1.EventTypeWarning, ReasonDeletionBlocked, "Delete", "Deletion refused while namespaces hold workloads: %s", holdingsMessage(held))
			return false, r.writeStatus(ctx, t, Names(tree), conds)
		}
	}
	var errs []error
	leaves := Leaves(tree, t.Name)
	ctrl.LoggerFrom(ctx).V(1).Info("Deleting tree bottom-up", "namespaces", Names(tree), "leaves", Names(leaves))
	for _, n := range leaves {
		if n.IsSub && n.Anchored {
			errs = append(errs, deleteIgnoringMissing(ctx, r.Client, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: n.Parent, Name: n.Name}}))
		} else {
			errs = append(errs, deleteIgnoringMissing(ctx, r.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name}}))
		}
	}
	if len(leaves) == 0 {
		errs = append(errs, deleteIgnoringMissing(ctx, r.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.Name}}))
		r.event(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.Name}}, corev1.EventTypeNormal, ReasonDeleting, "Delete", "Deleting root namespace %s", t.Name)
	}
	return false, errors.Join(errs...)
}
