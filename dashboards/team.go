package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/gauge"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Units of the panels, Grafana's unit ids.
const (
	unitCores    = "suffix: cores"
	unitBytes    = "bytes"
	unitShare    = "percentunit"
	unitCurrency = "currencyUSD"
	unitAmount   = "short"
)

// rangeQuery is a range query over the tenant's datasource.
func (p Params) rangeQuery(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Datasource(p.datasource()).Expr(expr).LegendFormat(legend).Range()
}

func (p Params) timeseries(id uint32, title, desc, unit string, pos dashboard.GridPos) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Id(id).Title(title).Description(desc).Datasource(p.datasource()).
		Unit(unit).GridPos(pos).Legend(legend()).Tooltip(tooltip())
}

func (p Params) stat(id uint32, title, desc, unit string, pos dashboard.GridPos) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Id(id).Title(title).Description(desc).Datasource(p.datasource()).
		Unit(unit).GridPos(pos).ReduceOptions(lastValue()).GraphMode(common.BigValueGraphModeArea)
}

func (p Params) bargauge(id uint32, title, desc, unit string, pos dashboard.GridPos) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().Id(id).Title(title).Description(desc).Datasource(p.datasource()).
		Unit(unit).GridPos(pos).ReduceOptions(lastValue()).DisplayMode(common.BarGaugeDisplayModeGradient).
		Orientation(common.VizOrientationHorizontal)
}

// workloads: usage against requests, per namespace of the team.
//
//nolint:staticcheck // SA1019: the v1 dashboard schema is Grafana 10's; dashboardv2 needs Grafana 12.
func workloads(p Params) *dashboard.DashboardBuilder {
	cpuUsed := `rate(container_cpu_usage_seconds_total{` + p.ns() + `, container!=""}[5m])`
	memUsed := `container_memory_working_set_bytes{` + p.ns() + `, container!=""}`
	requested := func(resource string) string {
		return `kube_pod_container_resource_requests{` + p.ns() + `, resource="` + resource + `"}`
	}
	return base(p, "Team workloads", "workloads", "now-24h").
		WithPanel(p.timeseries(1, "CPU usage against requests",
			"CPU cores used (cAdvisor) against cores requested (kube-state-metrics).", unitCores, grid(0, 0, 12, 8)).
			WithTarget(p.rangeQuery("A", "sum by (namespace) ("+cpuUsed+")", "used {{namespace}}")).
			WithTarget(p.rangeQuery("B", "sum by (namespace) ("+requested("cpu")+")", "requested {{namespace}}"))).
		WithPanel(p.timeseries(2, "Memory usage against requests",
			"Working set (cAdvisor) against memory requested (kube-state-metrics).", unitBytes, grid(12, 0, 12, 8)).
			WithTarget(p.rangeQuery("A", "sum by (namespace) ("+memUsed+")", "used {{namespace}}")).
			WithTarget(p.rangeQuery("B", "sum by (namespace) ("+requested("memory")+")", "requested {{namespace}}"))).
		WithPanel(p.stat(3, "CPU usage share of requests", "Below 1 means requests could shrink.", unitShare, grid(0, 8, 12, 8)).
			WithTarget(p.rangeQuery("A", "sum("+cpuUsed+") / sum("+requested("cpu")+")", "cpu"))).
		WithPanel(p.stat(4, "Memory usage share of requests", "Below 1 means requests could shrink.", unitShare, grid(12, 8, 12, 8)).
			WithTarget(p.rangeQuery("A", "sum("+memUsed+") / sum("+requested("memory")+")", "memory")))
}

// quota: the team's hierarchical quotas, used against hard.
//
//nolint:staticcheck // SA1019: the v1 dashboard schema is Grafana 10's; dashboardv2 needs Grafana 12.
func quota(p Params) *dashboard.DashboardBuilder {
	used := "sum by (namespace, quota, resource) (canopy_quota_used{" + p.ns() + "})"
	hard := "sum by (namespace, quota, resource) (canopy_quota_hard{" + p.ns() + "})"
	hardPositive := "sum by (namespace, quota, resource) (canopy_quota_hard{" + p.ns() + "} > 0)"
	return base(p, "Team quota", "quota", "now-7d").
		WithPanel(p.bargauge(1, "Used against hard, by resource", "Hierarchical quota usage as a share of its hard limit.",
			unitShare, grid(0, 0, 24, 8)).Min(0).Max(1).Thresholds(thresholds(0.8, 0.95)).
			WithTarget(p.rangeQuery("A", used+" / "+hardPositive, "{{namespace}}/{{quota}} {{resource}}"))).
		WithPanel(p.timeseries(2, "Used over time", "Quota usage per resource over time.", unitAmount, grid(0, 8, 12, 8)).
			WithTarget(p.rangeQuery("A", used, "used {{namespace}}/{{quota}} {{resource}}"))).
		WithPanel(p.timeseries(3, "Hard limits over time", "Quota hard limits per resource over time.", unitAmount, grid(12, 8, 12, 8)).
			WithTarget(p.rangeQuery("A", hard, "hard {{namespace}}/{{quota}} {{resource}}")))
}

// cost: allocation priced at OpenCost's node rates, and Canopy's own
// month-to-date figures. Pods join their node's price within their own
// cluster: node names repeat across a fleet.
//
//nolint:staticcheck // SA1019: the v1 dashboard schema is Grafana 10's; dashboardv2 needs Grafana 12.
func cost(p Params) *dashboard.DashboardBuilder {
	cpuHourly := "container_cpu_allocation{" + p.ns() + "} * on (cluster, node) group_left () avg by (cluster, node) (node_cpu_hourly_cost{" + clusterSel + "})"
	memHourly := "container_memory_allocation_bytes{" + p.ns() + "} / 1073741824 * on (cluster, node) group_left () avg by (cluster, node) (node_ram_hourly_cost{" + clusterSel + "})"
	daily := func(by, hourly string) string { return "sum" + by + "(avg_over_time((" + hourly + ")[1d:1h]) * 24)" }
	topk := "topk(10, sum by (namespace, pod) (" + cpuHourly + ") + sum by (namespace, pod) (" + memHourly + "))"
	idle := `clamp_min(1 - sum(rate(container_cpu_usage_seconds_total{` + p.ns() + `, container!=""}[5m])) / sum(container_cpu_allocation{` + p.ns() + `}), 0)`
	return base(p, "Team cost", "cost", "now-30d").
		WithPanel(p.timeseries(1, "Daily cost by namespace",
			"CPU and memory allocation priced at the node's hourly rates (OpenCost), per day.", unitCurrency, grid(0, 0, 12, 8)).
			Interval("1d").
			WithTarget(p.rangeQuery("A", daily(" by (namespace) ", cpuHourly)+" + "+daily(" by (namespace) ", memHourly), "{{namespace}}"))).
		WithPanel(p.timeseries(2, "Daily cost by resource", "Daily cost split by resource (OpenCost).", unitCurrency, grid(12, 0, 12, 8)).
			Interval("1d").
			WithTarget(p.rangeQuery("A", daily("", cpuHourly), "cpu")).
			WithTarget(p.rangeQuery("B", daily("", memHourly), "memory"))).
		WithPanel(p.bargauge(3, "Month to date by resource", "Canopy's month-to-date cost for this team, per resource.",
			unitCurrency, grid(0, 8, 8, 8)).
			WithTarget(p.rangeQuery("A", "sum by (resource) (canopy_tenant_cost{"+p.team()+"})", "{{resource}}"))).
		WithPanel(gauge.NewPanelBuilder().Id(4).Title("Month to date against budget").
			Description("Share of the tenant's monthly budget spent so far.").Datasource(p.datasource()).
			Unit(unitShare).GridPos(grid(8, 8, 8, 8)).Min(0).Max(1).Thresholds(thresholds(0.8, 1)).ReduceOptions(lastValue()).
			WithTarget(p.rangeQuery("A", "max(canopy_tenant_budget_ratio{"+p.tenant()+"})", "budget used"))).
		WithPanel(p.stat(5, "Idle share of allocated CPU", "Allocated CPU that was not used: the cost that buys nothing.",
			unitShare, grid(16, 8, 8, 8)).
			WithTarget(p.rangeQuery("A", idle, "idle"))).
		WithPanel(table.NewPanelBuilder().Id(6).Title("Top workloads by hourly cost").
			Description("The ten most expensive pods right now.").Datasource(p.datasource()).
			Unit(unitCurrency).GridPos(grid(0, 16, 24, 8)).
			Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
			WithTarget(prometheus.NewDataqueryBuilder().RefId("A").Datasource(p.datasource()).Expr(topk).
				LegendFormat("{{namespace}}/{{pod}}").Format(prometheus.PromQueryFormatTable).Instant()))
}
