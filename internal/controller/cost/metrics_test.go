package cost

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
)

const metricsHeader = `
# HELP canopy_tenant_budget_ratio Month-to-date spend divided by the tenant's monthly budget, from the last successful OpenCost read.
# TYPE canopy_tenant_budget_ratio gauge
# HELP canopy_tenant_cost Month-to-date cost of a tenant's team by resource, in the report currency, from the last successful OpenCost read. The tenant's own team is named after the tenant.
# TYPE canopy_tenant_cost gauge
`

func TestCollector(t *testing.T) {
	rep := &Report{Currency: "USD", Tenants: map[string]*TenantReport{
		"pay": {MonthToDate: m(12), Teams: []TeamReport{
			{Team: "pay", Costs: cost.Costs{CPU: m(6), RAM: m(1.5), GPU: m(0.25), PV: m(0.125), Network: m(0.0625), LoadBalancer: m(0.0625), Shared: m(2), Idle: m(2), Total: m(12)}},
			{Team: "api", Costs: cost.Costs{CPU: m(2), Total: m(2)}},
		}},
		"web": {MonthToDate: m(1), Teams: []TeamReport{{Team: "web", Costs: cost.Costs{RAM: m(1), Total: m(1)}}}},
	}}
	pay := tenant("pay", 1, budget("16", 50))
	web := tenant("web", 1, nil)
	c := &Collector{}
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("collector without reader or report sent %d samples", n)
	}
	cl := fakeClient(t, pay, web)
	c.SetReader(cl)
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("collector without a report sent %d samples", n)
	}
	c.SetReport(rep)
	want := metricsHeader + `
canopy_tenant_budget_ratio{tenant="pay"} 0.75
canopy_tenant_cost{resource="cpu",team="api",tenant="pay"} 2
canopy_tenant_cost{resource="gpu",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="idle",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="loadbalancer",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="network",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="pv",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="ram",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="shared",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="total",team="api",tenant="pay"} 2
canopy_tenant_cost{resource="cpu",team="pay",tenant="pay"} 6
canopy_tenant_cost{resource="gpu",team="pay",tenant="pay"} 0.25
canopy_tenant_cost{resource="idle",team="pay",tenant="pay"} 2
canopy_tenant_cost{resource="loadbalancer",team="pay",tenant="pay"} 0.0625
canopy_tenant_cost{resource="network",team="pay",tenant="pay"} 0.0625
canopy_tenant_cost{resource="pv",team="pay",tenant="pay"} 0.125
canopy_tenant_cost{resource="ram",team="pay",tenant="pay"} 1.5
canopy_tenant_cost{resource="shared",team="pay",tenant="pay"} 2
canopy_tenant_cost{resource="total",team="pay",tenant="pay"} 12
canopy_tenant_cost{resource="cpu",team="web",tenant="web"} 0
canopy_tenant_cost{resource="gpu",team="web",tenant="web"} 0
canopy_tenant_cost{resource="idle",team="web",tenant="web"} 0
canopy_tenant_cost{resource="loadbalancer",team="web",tenant="web"} 0
canopy_tenant_cost{resource="network",team="web",tenant="web"} 0
canopy_tenant_cost{resource="pv",team="web",tenant="web"} 0
canopy_tenant_cost{resource="ram",team="web",tenant="web"} 1
canopy_tenant_cost{resource="shared",team="web",tenant="web"} 0
canopy_tenant_cost{resource="total",team="web",tenant="web"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	// web is deleted: its series go at once, though the report still
	// holds it. A budget edited since the report shows at once too.
	if err := cl.Delete(context.Background(), getTenant(t, cl, "web")); err != nil {
		t.Fatal(err)
	}
	cur := getTenant(t, cl, "pay")
	cur.Spec.Budget = budget("24", 50)
	if err := cl.Update(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	// A tenant created after the report has no series yet.
	if err := cl.Create(context.Background(), tenant("new", 1, budget("10"))); err != nil {
		t.Fatal(err)
	}
	want = metricsHeader + `
canopy_tenant_budget_ratio{tenant="pay"} 0.5
canopy_tenant_cost{resource="cpu",team="api",tenant="pay"} 2
canopy_tenant_cost{resource="gpu",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="idle",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="loadbalancer",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="network",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="pv",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="ram",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="shared",team="api",tenant="pay"} 0
canopy_tenant_cost{resource="total",team="api",tenant="pay"} 2
canopy_tenant_cost{resource="cpu",team="pay",tenant="pay"} 6
canopy_tenant_cost{resource="gpu",team="pay",tenant="pay"} 0.25
canopy_tenant_cost{resource="idle",team="pay",tenant="pay"} 2
canopy_tenant_cost{resource="loadbalancer",team="pay",tenant="pay"} 0.0625
canopy_tenant_cost{resource="network",team="pay",tenant="pay"} 0.0625
canopy_tenant_cost{resource="pv",team="pay",tenant="pay"} 0.125
canopy_tenant_cost{resource="ram",team="pay",tenant="pay"} 1.5
canopy_tenant_cost{resource="shared",team="pay",tenant="pay"} 2
canopy_tenant_cost{resource="total",team="pay",tenant="pay"} 12
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestSamplesSkipBudgetInAnotherCurrency(t *testing.T) {
	rep := &Report{Currency: "EUR", Tenants: map[string]*TenantReport{"pay": {MonthToDate: m(5)}}}
	got := Samples(rep, []tenancyv1.Tenant{*tenant("pay", 1, budget("10"))})
	if len(got) != 0 {
		t.Errorf("samples = %+v, want none for a USD budget against EUR spend", got)
	}
}
