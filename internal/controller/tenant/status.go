package tenant

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/tenantstatus"
)

// StatusApply returns the status apply configuration for the fields this
// controller owns, and whether it differs from t's status. Conditions owned
// by other field managers are neither sent nor compared.
func StatusApply(t *tenancyv1.Tenant, namespaces []string, desired []metav1.Condition, now metav1.Time) (*unstructured.Unstructured, bool, error) {
	conds, changed := MergeConditions(t.Status.Conditions, desired, now)
	ns := slices.Clone(namespaces)
	slices.Sort(ns)
	cur := slices.Clone(t.Status.Namespaces)
	slices.Sort(cur)
	if !slices.Equal(ns, cur) || t.Status.ObservedGeneration != t.Generation {
		changed = true
	}
	u, err := tenantstatus.ApplyObject(t.Name, tenancyv1.TenantStatus{ObservedGeneration: t.Generation, Namespaces: ns, Conditions: conds})
	return u, changed, err
}

// writeStatus applies the owned status fields once, when they changed.
func (r *Reconciler) writeStatus(ctx context.Context, t *tenancyv1.Tenant, namespaces []string, conds []metav1.Condition) error {
	u, changed, err := StatusApply(t, namespaces, conds, metav1.Now())
	if err != nil || !changed {
		return err
	}
	if err := r.Client.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying status: %w", err)
	}
	return nil
}
