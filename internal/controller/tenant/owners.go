package tenant

import (
	"context"
	"errors"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// fleetOwnerAccess gives a fleet Tenant's owners read access to it on the
// hub, as OwnerAccess does on a single cluster, owned by the Tenant so that
// it goes with it; it removes the access while the Tenant is deleted or
// has no owners.
func (r *Reconciler) fleetOwnerAccess(ctx context.Context, t *tenancyv1.Tenant) error {
	cr, crb := OwnerAccess(t)
	if cr == nil || t.DeletionTimestamp != nil {
		return r.deleteOwnerAccess(ctx, t)
	}
	owner := metav1.OwnerReference{APIVersion: tenancyv1.GroupVersion.String(), Kind: "Tenant", Name: t.Name, UID: t.UID}
	cr.OwnerReferences, crb.OwnerReferences = []metav1.OwnerReference{owner}, []metav1.OwnerReference{owner}
	return errors.Join(apply(ctx, r.Client, cr), apply(ctx, r.Client, crb))
}

func (r *Reconciler) deleteOwnerAccess(ctx context.Context, t *tenancyv1.Tenant) error {
	name := ClusterName(t.Name)
	return errors.Join(
		deleteIgnoringMissing(ctx, r.Client, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}),
		deleteIgnoringMissing(ctx, r.Client, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}}),
	)
}
