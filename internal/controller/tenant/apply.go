package tenant

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// toApply converts a typed object into an apply configuration: status and
// the zero creationTimestamp are dropped so the controller owns only the
// fields it means to set.
func toApply(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", obj, err)
	}
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(m, "status")
	return &unstructured.Unstructured{Object: m}, nil
}

// apply writes obj with server-side apply as canopy-tenant, forcing
// ownership of the fields it sets: the Tenant is the authority on them.
func apply(ctx context.Context, c client.Client, obj runtime.Object) error {
	u, err := toApply(obj)
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(u), err)
	}
	return nil
}

// applyExisting applies obj only if it still is the object with
// resourceVersion rv: server-side apply creates missing objects, and a
// namespace being deleted must not come back as an ordinary namespace.
func applyExisting(ctx context.Context, c client.Client, obj runtime.Object, rv string) error {
	u, err := toApply(obj)
	if err != nil {
		return err
	}
	u.SetResourceVersion(rv)
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(u), err)
	}
	return nil
}

// deleteIgnoringMissing deletes obj; an object already gone is fine.
func deleteIgnoringMissing(ctx context.Context, c client.Client, obj client.Object) error {
	if err := c.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting %T %s: %w", obj, client.ObjectKeyFromObject(obj), err)
	}
	return nil
}
