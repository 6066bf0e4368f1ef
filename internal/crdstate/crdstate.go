// Package crdstate tells whether one of the CRDs Canopy serves (HNC's or
// its own) is being deleted. When it is, the API server is deleting every
// object of that kind: Canopy (or HNC before it) is being uninstalled, and
// nothing may be destroyed as if a user had deleted those objects one by
// one. HNC v1.1.0 had the same rule; the anchor reconciler, the anchor
// webhook and the forest syncer (which halts everything while the
// HierarchyConfiguration CRD goes) follow it, and so do the Tenant's
// finalizers (the tenant teardown and the Grafana teardown), which release
// a Tenant without tearing anything down while the Tenant CRD goes.
package crdstate

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get

// The CRDs whose deletion means an uninstall.
const (
	// Anchors is the SubnamespaceAnchor CRD's name.
	Anchors = api.Anchors + "." + api.MetaGroup
	// HierarchyConfigurations is the HierarchyConfiguration CRD's name.
	HierarchyConfigurations = api.HierarchyConfigurations + "." + api.MetaGroup
	// Tenants is the Tenant CRD's name.
	Tenants = "tenants.tenancy.canopy.dev"
)

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// Deleting reports whether the CRD named name is being or has been
// deleted. Read it with an uncached reader: Canopy does not watch CRDs,
// and deletions are rare enough for one GET each.
func Deleting(ctx context.Context, r client.Reader, name string) (bool, error) {
	crd := &metav1.PartialObjectMetadata{}
	crd.SetGroupVersionKind(crdGVK)
	switch err := r.Get(ctx, client.ObjectKey{Name: name}, crd); {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading CRD %s: %w", name, err)
	}
	return crd.DeletionTimestamp != nil, nil
}

// uninstallCRDs are the CRDs whose deletion starts an uninstall, in the
// order an uninstall usually deletes them.
var uninstallCRDs = []string{Anchors, HierarchyConfigurations, Tenants}

// AnyDeleting reports the first CRD whose deletion means an uninstall and
// that is being or has been deleted, or "" if none is. Once one of them
// goes, the trees come apart (HNC's CRDs) or the Tenants go (Canopy's), and
// a controller acting on what is left would prune what users still need:
// the Grafana spaces of teams whose namespaces seem to have left their
// tree, for example. Read it with an uncached reader.
func AnyDeleting(ctx context.Context, r client.Reader) (string, error) {
	for _, name := range uninstallCRDs {
		deleting, err := Deleting(ctx, r, name)
		if err != nil {
			return "", err
		}
		if deleting {
			return name, nil
		}
	}
	return "", nil
}
