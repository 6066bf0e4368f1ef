// Package dashboards builds, as code, the Grafana dashboards Canopy
// provisions for every team: workloads, quota and cost. They are made
// with the typed builders of github.com/grafana/grafana-foundation-sdk/go
// (Apache-2.0) and pinned to SchemaVersion, Grafana 10.0's, the oldest
// Grafana Canopy supports.
//
// Every query reads the tenant's own Prometheus datasource (Params.
// DatasourceUID, which points at the tenant Prometheus proxy) and is
// confined to the team: by namespace=~ the team's namespaces, or, for
// Canopy's own tenant-labelled metrics, by tenant and team. Node prices
// are cluster-wide, not tenant data, and are read bare.
//
// internal/grafana provisions them; cmd/chart-dashboards writes the same
// dashboards, with placeholders for the per-team values, into the Helm
// chart's canopy-dashboards ConfigMap, which `make verify` keeps in sync.
package dashboards

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// SchemaVersion is the dashboard schema of Grafana 10.0. No panel here
// needs a newer one.
const SchemaVersion = 38

// Params are what differs between two teams' copies of a dashboard.
type Params struct {
	// UID is the dashboard's UID.
	UID string
	// DatasourceUID is the tenant's Prometheus datasource.
	DatasourceUID string
	// NamespaceRegex is the team's namespaces as a PromQL regex
	// alternation, such as "acme|acme-web".
	NamespaceRegex string
	// Tenant and Team name the team.
	Tenant, Team string
}

// Placeholders are the Params of the chart's copies: each value names
// what a provisioner puts in its place.
func Placeholders() Params {
	return Params{UID: "__DASHBOARD_UID__", DatasourceUID: "__DATASOURCE_UID__",
		NamespaceRegex: "__NAMESPACE_REGEX__", Tenant: "__TENANT__", Team: "__TEAM__"}
}

//nolint:staticcheck // SA1019: the v1 dashboard schema is Grafana 10's; dashboardv2 needs Grafana 12.
var builders = map[string]func(Params) *dashboard.DashboardBuilder{
	"team-cost":      cost,
	"team-quota":     quota,
	"team-workloads": workloads,
}

// Names lists the dashboards in lexical order.
func Names() []string {
	out := make([]string, 0, len(builders))
	for name := range builders {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Build builds one dashboard for one team.
//
//nolint:staticcheck // SA1019: the v1 dashboard schema is Grafana 10's; dashboardv2 needs Grafana 12.
func Build(name string, p Params) (dashboard.Dashboard, error) {
	b, ok := builders[name]
	if !ok {
		return dashboard.Dashboard{}, fmt.Errorf("unknown dashboard %q", name)
	}
	d, err := b(p).Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("building dashboard %q: %w", name, err)
	}
	d.SchemaVersion = SchemaVersion
	return d, nil
}

// JSON is Build encoded as Grafana's dashboard JSON model.
func JSON(name string, p Params) ([]byte, error) {
	d, err := Build(name, p)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding dashboard %q: %w", name, err)
	}
	return append(b, '\n'), nil
}

// base is what every team dashboard shares.
//
//nolint:staticcheck // SA1019: the v1 dashboard schema is Grafana 10's; dashboardv2 needs Grafana 12.
func base(p Params, title, kind, from string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title+" ("+p.Team+")").
		Uid(p.UID).
		Description("Provisioned by Canopy for team "+p.Team+" of tenant "+p.Tenant+
			". Edits are reverted; change the dashboards in Canopy's dashboards/ package instead.").
		Tags([]string{"canopy", kind}).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Timezone("utc").
		Time(from, "now").
		Refresh("5m").
		WithVariable(clusterVariable(p.datasource(), "kube_pod_container_resource_requests"))
}

// clusterVariable selects member clusters of a fleet, whose series carry a
// cluster label (each member Prometheus's external_labels, kept by the
// store that federates them). Its "All" is the regex .*, which also
// matches series without the label: on a single cluster the dashboards
// read exactly what they read before. Values come from metric, read
// through ds (for a team, the tenant's proxy, which confines them to the
// team's namespaces).
//
//nolint:staticcheck // SA1019: the v1 dashboard schema is Grafana 10's; dashboardv2 needs Grafana 12.
func clusterVariable(ds common.DataSourceRef, metric string) *dashboard.QueryVariableBuilder {
	q := "label_values(" + metric + ", cluster)"
	return dashboard.NewQueryVariableBuilder("cluster").Label("Cluster").
		Description("Member clusters of a fleet, by the cluster label of their series; All also matches series without one.").
		Datasource(ds).Query(dashboard.StringOrMap{String: ptr(q)}).Definition(q).
		Multi(true).IncludeAll(true).AllValue(".*").
		Current(dashboard.VariableOption{Selected: ptr(true),
			Text: dashboard.StringOrArrayOfString{String: ptr("All")}, Value: dashboard.StringOrArrayOfString{String: ptr("$__all")}}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
}

// clusterSel is the matcher on the cluster variable.
const clusterSel = `cluster=~"$cluster"`

func (p Params) datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr(p.DatasourceUID)}
}

// ns is the selector confining a metric to the team's namespaces, in the
// selected clusters.
func (p Params) ns() string {
	return "namespace=~" + strconv.Quote(p.NamespaceRegex) + ", " + clusterSel
}

// team is the selector confining Canopy's tenant metrics to the team.
func (p Params) team() string {
	return "tenant=" + strconv.Quote(p.Tenant) + ", team=" + strconv.Quote(p.Team) + ", " + clusterSel
}

func (p Params) tenant() string { return "tenant=" + strconv.Quote(p.Tenant) + ", " + clusterSel }

func grid(x, y, w, h uint32) dashboard.GridPos { return dashboard.GridPos{X: x, Y: y, W: w, H: h} }

func thresholds(orange, red float64) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps([]dashboard.Threshold{
		{Color: "green"}, {Color: "orange", Value: ptr(orange)}, {Color: "red", Value: ptr(red)}})
}

func legend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).
		Placement(common.LegendPlacementBottom)
}

func tooltip() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderNone)
}

func lastValue() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)
}

func ptr[T any](v T) *T { return &v }
