package kubectl

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestTenantListGolden(t *testing.T) {
	c, calls := newFakeClient(t, nil, richObjects()...)
	var out bytes.Buffer
	if err := TenantList(context.Background(), c, &out, TenantOptions{Now: testNow}); err != nil {
		t.Fatalf("TenantList: %v", err)
	}
	want := `NAME    NAMESPACES   OWNERS   READY     QUOTA                      AGE
acme    4            2        True      requests.memory: 1Gi/8Gi   3d
newco   0            0        Unknown   <none>                     10s
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("tenant list (-want +got):\n%s", diff)
	}
	if got := calls.total("List"); got != 3 {
		t.Errorf("tenant list made %d List calls, want 3", got)
	}
}

func TestTenantDescribeGolden(t *testing.T) {
	tests := []struct {
		name, tenant, want string
	}{
		{
			name:   "reconciled",
			tenant: "acme",
			want: `Tenant acme
  Cost center: cc-42
  Owners:
  - User alice
  - ServiceAccount ci/bot
  Namespaces (4):
    acme
    ├── [s] dev
    └── [s] prod
        └── prod-eu (1)

    [s] indicates subnamespaces

    Conditions:
    1) BadConfiguration (SubnamespaceAnchorMissing): anchor is gone
  Quota:
  - HierarchicalQuota acme/acme
      Requests: requests.memory: 1Gi/8Gi
  - HierarchicalResourceQuota acme/compute
      Requests: pods: 3/10, requests.cpu: 500m/4
      Limits: limits.cpu: 0/8
  Cost: 420.00 USD month to date, 900.10 USD last month
  Conditions:
  - BudgetExceeded=False (UnderBudget): 42% of 1000 USD
  - Ready=True (Reconciled): all good
`,
		},
		{
			name:   "not reconciled yet",
			tenant: "newco",
			want: `Tenant newco
  No owners
  Namespaces (0):
    Root namespace newco does not exist yet
  No quota
  No conditions
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newFakeClient(t, nil, richObjects()...)
			var out bytes.Buffer
			if err := TenantDescribe(context.Background(), c, &out, tt.tenant, TenantOptions{Now: testNow}); err != nil {
				t.Fatalf("TenantDescribe: %v", err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("tenant describe (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTenantDescribeYAMLAndErrors(t *testing.T) {
	c, _ := newFakeClient(t, nil, richObjects()...)
	ctx := context.Background()
	var out bytes.Buffer
	if err := TenantDescribe(ctx, c, &out, "acme", TenantOptions{Output: OutputYAML}); err != nil {
		t.Fatalf("TenantDescribe -o yaml: %v", err)
	}
	var got tenancyv1.Tenant
	if err := yaml.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not a Tenant: %v\n%s", err, out.String())
	}
	if got.Kind != "Tenant" || got.Spec.CostCenter != "cc-42" || got.ManagedFields != nil {
		t.Errorf("decoded kind %q costCenter %q managedFields %v", got.Kind, got.Spec.CostCenter, got.ManagedFields)
	}
	err := TenantDescribe(ctx, c, &out, "ghost", TenantOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "reading tenant ghost: ") {
		t.Errorf("error = %v, want one naming tenant ghost", err)
	}
}
