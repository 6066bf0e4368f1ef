package kubectl

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// NewScheme returns a scheme holding every kind the plugin reads or writes:
// core, rbac, HNC's hnc.x-k8s.io/v1alpha2 and Canopy's tenancy.canopy.dev.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	adders := []struct {
		name string
		add  func(*runtime.Scheme) error
	}{
		{"core/v1", corev1.AddToScheme},
		{"rbac/v1", rbacv1.AddToScheme},
		{hncv1.GroupVersion.String(), hncv1.AddToScheme},
		{tenancyv1.GroupVersion.String(), tenancyv1.AddToScheme},
	}
	for _, a := range adders {
		if err := a.add(s); err != nil {
			return nil, fmt.Errorf("adding %s to the scheme: %w", a.name, err)
		}
	}
	return s, nil
}
