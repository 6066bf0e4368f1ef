package tenant

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func declaredTenant() *tenancyv1.Tenant {
	return &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "pay"}, Spec: tenancyv1.TenantSpec{
		Namespaces: []tenancyv1.TenantNamespace{{Name: "pay-api"}, {Name: "pay-api-eu", Parent: "pay-api"}},
	}}
}

func TestDecideAnchorDelete(t *testing.T) {
	tn := declaredTenant()
	for _, tc := range []struct {
		name string
		want string
	}{
		{"pay-api", `subnamespace "pay-api" is declared in Tenant "pay"'s spec.namespaces`},
		{"pay-api-eu", `subnamespace "pay-api-eu" is declared`},
		{"pay-team-made", ""},
	} {
		got := DecideAnchorDelete(tn, tc.name)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("DecideAnchorDelete(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDecideCascading(t *testing.T) {
	tn := declaredTenant()
	for _, tc := range []struct {
		ns       string
		was, now bool
		denied   bool
	}{
		{"pay", false, true, true},
		{"pay-api", false, true, true},
		{"pay-api-eu", false, true, true},
		{"pay-team-made", false, true, false},
		{"pay", true, true, false},  // already set: the platform set it
		{"pay", true, false, false}, // turning it off is always fine
	} {
		got := DecideCascading(tn, tc.ns, tc.was, tc.now)
		if (got != "") != tc.denied {
			t.Errorf("DecideCascading(%q, %t, %t) = %q, want denied %t", tc.ns, tc.was, tc.now, got, tc.denied)
		}
	}
	if got := DecideCascading(nil, "pay", false, true); got != "" {
		t.Errorf("without a Tenant: %q, want allowed", got)
	}
}

func TestDecideHierarchyDelete(t *testing.T) {
	for _, tc := range []struct {
		c      HierarchyChange
		denied bool
	}{
		{HierarchyChange{Namespace: "pay-full", Tenant: "pay", OldParent: "pay"}, true},
		{HierarchyChange{Namespace: "pay", Tenant: "pay"}, false},           // the root has no parent to lose
		{HierarchyChange{Namespace: "lone", OldParent: "elsewhere"}, false}, // not a tenant's
	} {
		if got := DecideHierarchyDelete(tc.c); (got != "") != tc.denied {
			t.Errorf("DecideHierarchyDelete(%+v) = %q, want denied %t", tc.c, got, tc.denied)
		}
	}
}

func TestDecideHubManaged(t *testing.T) {
	hub := []string{"canopy-hub"}
	if why := DecideHubManaged("canopy-hub", hub, false); why != "" {
		t.Errorf("hub identity denied: %s", why)
	}
	if why := DecideHubManaged("system:serviceaccount:canopy-system:canopy", hub, true); why != "" {
		t.Errorf("the member's manager denied: %s", why)
	}
	if why := DecideHubManaged("kubernetes-admin", hub, false); why == "" {
		t.Error("a local admin may change a hub-managed Tenant")
	}
	if why := DecideHubManaged("canopy-hub", nil, false); why == "" {
		t.Error("with no hub identities configured, anyone named like a hub passes")
	}
}
