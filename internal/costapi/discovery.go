package costapi

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The API's group and version.
const (
	Group   = "cost.canopy.dev"
	Version = "v1alpha1"
)

// GroupVersion is cost.canopy.dev/v1alpha1.
var GroupVersion = schema.GroupVersion{Group: Group, Version: Version}

// TenantResource is what access to a tenant's cost is checked against:
// tenants.tenancy.canopy.dev, by name.
var TenantResource = schema.GroupResource{Group: "tenancy.canopy.dev", Resource: "tenants"}

// Kinds served.
const (
	KindTenant     = "Tenant"
	KindTenantList = "TenantList"
)

// Paths.
const (
	pathAPIs    = "/apis"
	pathGroup   = pathAPIs + "/" + Group
	pathVersion = pathGroup + "/" + Version
	// PathTenants is the collection of tenants.
	PathTenants = pathVersion + "/tenants"
)

// ChargebackPath is the chargeback of one tenant.
func ChargebackPath(tenant string) string { return PathTenants + "/" + tenant + "/chargeback" }

func groupDiscovery() metav1.APIGroup {
	gv := metav1.GroupVersionForDiscovery{GroupVersion: GroupVersion.String(), Version: Version}
	return metav1.APIGroup{
		TypeMeta:         metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
		Name:             Group,
		Versions:         []metav1.GroupVersionForDiscovery{gv},
		PreferredVersion: gv,
	}
}

func groupList() metav1.APIGroupList {
	return metav1.APIGroupList{
		TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
		Groups:   []metav1.APIGroup{groupDiscovery()},
	}
}

func resourceList() metav1.APIResourceList {
	return metav1.APIResourceList{
		TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
		GroupVersion: GroupVersion.String(),
		APIResources: []metav1.APIResource{
			{Name: "tenants", SingularName: "tenant", Namespaced: false, Kind: KindTenant, Verbs: metav1.Verbs{"get", "list"}},
			{Name: "tenants/chargeback", Namespaced: false, Kind: KindChargeback, Verbs: metav1.Verbs{"get"}},
		},
	}
}

// Tenant is a tenant whose cost the caller may read.
type Tenant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
}

// TenantList lists them.
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []Tenant `json:"items"`
}

func newTenant(name string) Tenant {
	return Tenant{
		TypeMeta:   metav1.TypeMeta{Kind: KindTenant, APIVersion: GroupVersion.String()},
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}
}
