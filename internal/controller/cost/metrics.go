package cost

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
)

var (
	tenantCostDesc = prometheus.NewDesc("canopy_tenant_cost",
		"Month-to-date cost of a tenant's team by resource, in the report currency, from the last successful OpenCost read. The tenant's own team is named after the tenant.",
		[]string{"tenant", "team", "resource"}, nil)
	budgetRatioDesc = prometheus.NewDesc("canopy_tenant_budget_ratio",
		"Month-to-date spend divided by the tenant's monthly budget, from the last successful OpenCost read.",
		[]string{"tenant"}, nil)
)

// Resources are the values of canopy_tenant_cost's resource label, in the
// order they are reported.
var Resources = []string{"cpu", "ram", "gpu", "pv", "network", "loadbalancer", "shared", "idle", "total"}

func resourceValues(c *cost.Costs) []cost.Micro {
	return []cost.Micro{c.CPU, c.RAM, c.GPU, c.PV, c.Network, c.LoadBalancer, c.Shared, c.Idle, c.Total}
}

// Collector reports canopy_tenant_cost and canopy_tenant_budget_ratio at
// scrape time from the last successful report, for the Tenants in the
// cache at that moment: a deleted Tenant leaves no series, and a budget
// edited since the report is reflected at once.
type Collector struct {
	reader atomic.Pointer[client.Reader]
	report atomic.Pointer[Report]
}

// SetReader points the collector at a manager's cache; the last manager
// started in a process wins (tests run several).
func (c *Collector) SetReader(r client.Reader) { c.reader.Store(&r) }

// SetReport replaces the report the samples come from.
func (c *Collector) SetReport(r *Report) { c.report.Store(r) }

// Describe sends both descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tenantCostDesc
	ch <- budgetRatioDesc
}

// Collect lists Tenants and sends their samples.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	rp, rep := c.reader.Load(), c.report.Load()
	if rp == nil || rep == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list := &tenancyv1.TenantList{}
	if err := (*rp).List(ctx, list); err != nil {
		ctrl.Log.WithName("cost-metrics").Error(err, "Listing tenants for metrics")
		return
	}
	for _, s := range Samples(rep, list.Items) {
		if s.Resource == "" {
			ch <- prometheus.MustNewConstMetric(budgetRatioDesc, prometheus.GaugeValue, s.Value, s.Tenant)
			continue
		}
		ch <- prometheus.MustNewConstMetric(tenantCostDesc, prometheus.GaugeValue, s.Value, s.Tenant, s.Team, s.Resource)
	}
}

// Sample is one metric value; Resource is empty for
// canopy_tenant_budget_ratio.
type Sample struct {
	Tenant, Team, Resource string
	Value                  float64
}

// Samples computes the samples of rep for the tenants that exist: the cost
// of each team and resource, and the budget ratio of tenants whose budget
// can be evaluated in the report's currency.
func Samples(rep *Report, tenants []tenancyv1.Tenant) []Sample {
	var out []Sample
	for i := range tenants {
		t := &tenants[i]
		tr := rep.Tenants[t.Name]
		if tr == nil {
			// Created after the report: nothing is known yet.
			continue
		}
		for _, tm := range tr.Teams {
			for j, v := range resourceValues(&tm.Costs) {
				out = append(out, Sample{Tenant: t.Name, Team: tm.Team, Resource: Resources[j], Value: v.Float()})
			}
		}
		if t.Spec.Budget == nil {
			continue
		}
		if st, err := cost.EvaluateBudget(t.Spec.Budget, tr.MonthToDate, rep.Currency); err == nil {
			out = append(out, Sample{Tenant: t.Name, Value: st.Ratio})
		}
	}
	return out
}
