// Package tenantstatus builds the server-side apply objects through which
// Canopy's controllers write a Tenant's status. Several controllers report
// into one Tenant, each owning its own fields under its own field manager
// (see tenancyv1.TenantStatus); an apply object holds exactly the fields of
// the status its caller sets, so applying it never touches another
// manager's fields.
package tenantstatus

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// ApplyObject returns the apply object for Tenant name's status subresource
// holding status's set fields.
func ApplyObject(name string, status tenancyv1.TenantStatus) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&status)
	if err != nil {
		return nil, fmt.Errorf("converting the status of tenant %q: %w", name, err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": m}}
	u.SetAPIVersion(tenancyv1.GroupVersion.String())
	u.SetKind("Tenant")
	u.SetName(name)
	return u, nil
}
