package framework

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// setParentTries bounds SetParent's retries of races with the manager.
const setParentTries = 50

// SetParent sets ns's parent through its HierarchyConfiguration, as
// `kubectl hns set` would. Canopy's manager creates that singleton and
// writes its status concurrently, so a write can lose a race: an update
// conflicts, or a create finds the singleton already made. SetParent
// retries those races from a fresh read. Any other error, a webhook
// denial included, is returned at once.
func SetParent(ctx context.Context, c client.Client, ns, parent string) error {
	var err error
	for range setParentTries {
		if err = setParentOnce(ctx, c, ns, parent); !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return err
}

func setParentOnce(ctx context.Context, c client.Client, ns, parent string) error {
	hc := &api.HierarchyConfiguration{}
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: api.Singleton}, hc)
	if apierrors.IsNotFound(err) {
		hc = &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: api.Singleton}}
		hc.Spec.Parent = parent
		return c.Create(ctx, hc)
	}
	if err != nil {
		return err
	}
	hc.Spec.Parent = parent
	return c.Update(ctx, hc)
}
