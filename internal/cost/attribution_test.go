package cost

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestParseNamespaceLabels(t *testing.T) {
	tests := []struct {
		name       string
		ns         string
		labels     map[string]string
		wantTenant string
		wantPath   []string
		wantOK     bool
	}{
		{name: "raw", ns: "payments-api-staging", labels: map[string]string{
			"tenancy.canopy.dev/tenant":                    "payments",
			"payments.tree.hnc.x-k8s.io/depth":             "2",
			"payments-api.tree.hnc.x-k8s.io/depth":         "1",
			"payments-api-staging.tree.hnc.x-k8s.io/depth": "0",
			"kubernetes.io/metadata.name":                  "payments-api-staging",
		}, wantTenant: "payments", wantPath: []string{"payments", "payments-api", "payments-api-staging"}, wantOK: true},
		{name: "sanitized", ns: "payments-api-staging", labels: map[string]string{
			"tenancy_canopy_dev_tenant":                    "payments",
			"payments_tree_hnc_x_k8s_io_depth":             "2",
			"payments_api_tree_hnc_x_k8s_io_depth":         "1",
			"payments_api_staging_tree_hnc_x_k8s_io_depth": "0",
		}, wantTenant: "payments", wantPath: []string{"payments", "payments-api", "payments-api-staging"}, wantOK: true},
		{name: "prometheus prefix", ns: "label-x", labels: map[string]string{
			"label_tenancy_canopy_dev_tenant":       "acme",
			"label_acme_tree_hnc_x_k8s_io_depth":    "1",
			"label_label_x_tree_hnc_x_k8s_io_depth": "0",
			"label_kubernetes_io_metadata_name":     "label-x",
		}, wantTenant: "acme", wantPath: []string{"acme", "label-x"}, wantOK: true},
		{name: "unprefixed namespace named label-something", ns: "b", labels: map[string]string{
			"label_a_tree_hnc_x_k8s_io_depth": "1",
			"b_tree_hnc_x_k8s_io_depth":       "0",
		}, wantPath: []string{"label-a", "b"}, wantOK: true},
		{name: "tenant label only", ns: "x", labels: map[string]string{"tenancy_canopy_dev_tenant": "acme"}, wantTenant: "acme"},
		{name: "gap in depths", ns: "c", labels: map[string]string{
			"a_tree_hnc_x_k8s_io_depth": "2", "c_tree_hnc_x_k8s_io_depth": "0",
		}},
		{name: "depth 0 is another namespace", ns: "c", labels: map[string]string{
			"a_tree_hnc_x_k8s_io_depth": "1", "b_tree_hnc_x_k8s_io_depth": "0",
		}},
		{name: "bad depth", ns: "c", labels: map[string]string{"c_tree_hnc_x_k8s_io_depth": "zero"}},
		{name: "no labels", ns: "c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tenant, path, ok := ParseNamespaceLabels(tc.ns, tc.labels)
			if tenant != tc.wantTenant || ok != tc.wantOK {
				t.Errorf("tenant, ok = %q, %v; want %q, %v", tenant, ok, tc.wantTenant, tc.wantOK)
			}
			if diff := cmp.Diff(tc.wantPath, path); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
		})
	}
}

// testDirectory is the tree used by the roll-up tests:
//
//	payments (cost center CC-100; team api owns payments-api)
//	  payments-api
//	    payments-api-staging
//	  payments-old (deleted; known only from labels)
//	search (CC-200)
//	default (no tenant)
func testDirectory() Directory {
	return Directory{
		Tenants: map[string]Tenant{
			"payments": {Name: "payments", CostCenter: "CC-100", Teams: []Team{{Name: "api", Root: "payments-api"}, {Name: "gone", Root: "nowhere"}}},
			"search":   {Name: "search", CostCenter: "CC-200"},
		},
		Namespaces: map[string]LiveNamespace{
			"payments":             {Tenant: "payments", Path: []string{"payments"}},
			"payments-api":         {Tenant: "payments", Path: []string{"payments", "payments-api"}},
			"payments-api-staging": {Tenant: "payments", Path: []string{"payments", "payments-api", "payments-api-staging"}},
			"search":               {Tenant: "search", Path: []string{"search"}},
			"default":              {Path: []string{"default"}},
			"kube-system":          {Path: []string{"kube-system"}},
		},
	}
}

var oldLabels = map[string]string{
	"tenancy_canopy_dev_tenant":            "payments",
	"payments_tree_hnc_x_k8s_io_depth":     "1",
	"payments_old_tree_hnc_x_k8s_io_depth": "0",
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name   string
		ns     string
		labels map[string]string
		want   *Attribution
	}{
		{name: "live nested team", ns: "payments-api-staging", want: &Attribution{
			Tenant: "payments", CostCenter: "CC-100", Path: "payments/payments-api/payments-api-staging",
			Teams: []TeamRef{{"payments", "payments"}, {"api", "payments/payments-api"}},
		}},
		{name: "live root", ns: "search", want: &Attribution{
			Tenant: "search", CostCenter: "CC-200", Path: "search", Teams: []TeamRef{{"search", "search"}},
		}},
		{name: "live wins over stale labels", ns: "default", labels: oldLabels},
		{name: "deleted, from labels", ns: "payments-old", labels: oldLabels, want: &Attribution{
			Tenant: "payments", CostCenter: "CC-100", Path: "payments/payments-old",
			Teams: []TeamRef{{"payments", "payments"}}, FromLabels: true,
		}},
		{name: "deleted under a team", ns: "payments-api-old", labels: map[string]string{
			"payments_tree_hnc_x_k8s_io_depth": "2", "payments_api_tree_hnc_x_k8s_io_depth": "1",
			"payments_api_old_tree_hnc_x_k8s_io_depth": "0",
		}, want: &Attribution{
			Tenant: "payments", CostCenter: "CC-100", Path: "payments/payments-api/payments-api-old",
			Teams: []TeamRef{{"payments", "payments"}, {"api", "payments/payments-api"}}, FromLabels: true,
		}},
		{name: "deleted tenant, tenant label only", ns: "legacy-web", labels: map[string]string{"tenancy.canopy.dev/tenant": "legacy"}, want: &Attribution{
			Tenant: "legacy", Path: "legacy/legacy-web", Teams: []TeamRef{{"legacy", "legacy"}}, FromLabels: true,
		}},
		{name: "deleted, no tenant", ns: "tmp", labels: map[string]string{"tmp_tree_hnc_x_k8s_io_depth": "0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewResolver(testDirectory())
			got := r.Resolve(tc.ns, tc.labels)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Resolve (-want +got):\n%s", diff)
			}
			if again := r.Resolve(tc.ns, nil); again != got {
				t.Errorf("second Resolve returned %p, want the cached %p", again, got)
			}
		})
	}
}

func TestTenantFromAPI(t *testing.T) {
	in := &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "payments"},
		Spec: tenancyv1alpha1.TenantSpec{
			CostCenter: "CC-100",
			Teams:      []tenancyv1alpha1.Team{{Name: "api", Namespace: "payments-api"}},
		},
	}
	want := Tenant{Name: "payments", CostCenter: "CC-100", Teams: []Team{{Name: "api", Root: "payments-api"}}}
	if diff := cmp.Diff(want, TenantFromAPI(in)); diff != "" {
		t.Errorf("TenantFromAPI (-want +got):\n%s", diff)
	}
}
