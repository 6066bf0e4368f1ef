package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// OperationsUID is the operations dashboard's UID.
const OperationsUID = "canopy-operations"

// The operations dashboard is for whoever runs Canopy, not for a team: it
// reads one Prometheus, chosen in its datasource variable, and shows the
// series the alerts of charts/canopy/files/prometheus-rules.yaml watch.
// Like those rules, it reads controller-runtime's metrics from
// job="canopy-metrics" (the chart's ServiceMonitor).
// Every selector also matches the cluster variable (see clusterVariable).
const (
	opsJob   = `job="canopy-metrics", ` + clusterSel
	opsLease = `name="canopy-manager.tenancy.canopy.dev", ` + clusterSel
	opsOwn   = `{` + clusterSel + `}`
)

func opsDatasource() common.DataSourceRef {
	return common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}
}

func opsQuery(ref, expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Datasource(opsDatasource()).Expr(expr).LegendFormat(legend).Range()
}

func opsTimeseries(id uint32, title, desc, unit string, pos dashboard.GridPos) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().Id(id).Title(title).Description(desc).Datasource(opsDatasource()).
		Unit(unit).GridPos(pos).Legend(legend()).Tooltip(tooltip())
}

// operations builds the dashboard.
//
//nolint:staticcheck // SA1019: the v1 dashboard schema is Grafana 10's; dashboardv2 needs Grafana 12.
func operations() *dashboard.DashboardBuilder {
	requests := `controller_runtime_webhook_requests_total{` + opsJob + `}`
	errors5xx := `controller_runtime_webhook_requests_total{` + opsJob + `, code=~"5.."}`
	return dashboard.NewDashboardBuilder("Canopy operations").
		Uid(OperationsUID).
		Description("Canopy's webhooks, controllers, leader election and OpenCost reads: what its alerts watch. Generated from Canopy's dashboards/ package.").
		Tags([]string{"canopy", "operations"}).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Timezone("utc").
		Time("now-6h", "now").
		Refresh("1m").
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Prometheus").Type("prometheus")).
		WithVariable(clusterVariable(opsDatasource(), "controller_runtime_reconcile_total")).
		WithPanel(stat.NewPanelBuilder().Id(1).Title("Leader").
			Description("Replicas holding the leader lease: 1 per cluster is healthy, 0 means nothing reconciles (alert CanopyNoLeader).").
			Datasource(opsDatasource()).Unit(unitAmount).GridPos(grid(0, 0, 6, 6)).ReduceOptions(lastValue()).
			GraphMode(common.BigValueGraphModeArea).Thresholds(leaderThresholds()).
			WithTarget(opsQuery("A", `sum(leader_election_master_status{`+opsLease+`}) or vector(0)`, "leaders"))).
		WithPanel(opsTimeseries(2, "Webhook requests by code", "Admission requests answered per second, by webhook and HTTP code.",
			"reqps", grid(6, 0, 18, 6)).
			WithTarget(opsQuery("A", "sum by (webhook, code) (rate("+requests+"[5m]))", "{{webhook}} {{code}}"))).
		WithPanel(opsTimeseries(3, "Webhook error ratio", "Share of admission requests answered with an internal error, each a denial (alert CanopyWebhookErrors above 5%).",
			unitShare, grid(0, 6, 12, 8)).
			WithTarget(opsQuery("A", "(sum by (webhook) (rate(canopy_webhook_errors_total"+opsOwn+"[5m])) + sum by (webhook) (rate("+errors5xx+"[5m]))) / sum by (webhook) (rate("+requests+"[5m]))", "{{webhook}}"))).
		WithPanel(opsTimeseries(4, "Webhook latency p99", "99th percentile admission latency (alert CanopyWebhookSlow above 1s; webhooks time out at 5s).",
			"s", grid(12, 6, 12, 8)).
			WithTarget(opsQuery("A", "histogram_quantile(0.99, sum by (webhook, le) (rate(controller_runtime_webhook_latency_seconds_bucket{"+opsJob+"}[5m])))", "{{webhook}}"))).
		WithPanel(opsTimeseries(5, "Reconcile errors", "Reconciles that returned an error, per second, by controller (alert CanopyReconcileErrors).",
			"ops", grid(0, 14, 12, 8)).
			WithTarget(opsQuery("A", "sum by (controller) (rate(controller_runtime_reconcile_errors_total{"+opsJob+"}[5m]))", "{{controller}}"))).
		WithPanel(opsTimeseries(6, "Optimistic-lock conflicts", "Conflicts retried per second, by controller and kind (alert CanopyConflictsHigh above 1/s).",
			"ops", grid(12, 14, 12, 8)).
			WithTarget(opsQuery("A", "sum by (controller, kind) (rate(canopy_conflicts_total"+opsOwn+"[5m]))", "{{controller}} {{kind}}"))).
		WithPanel(opsTimeseries(7, "Work queue depth", "Items waiting in each controller's queue.",
			unitAmount, grid(0, 22, 12, 8)).
			WithTarget(opsQuery("A", "sum by (name) (workqueue_depth{"+opsJob+"})", "{{name}}"))).
		WithPanel(opsTimeseries(8, "OpenCost read failures", "Failed reads from OpenCost per hour, by component and reason (alert CanopyOpenCostFetchErrors).",
			unitAmount, grid(12, 22, 12, 8)).
			WithTarget(opsQuery("A", "sum by (component, reason) (increase(canopy_opencost_fetch_errors_total"+opsOwn+"[1h]))", "{{component}} {{reason}}"))).
		WithPanel(opsTimeseries(9, "Quota escrow", "Quota admissions allowed within a namespace's escrowed grant, without a ledger write (within), and grants revoked so that another namespace could use the room (revoked), per second.",
			"ops", grid(0, 30, 12, 8)).
			WithTarget(opsQuery("A", "sum by (outcome) (rate(canopy_quota_escrow_total"+opsOwn+"[5m]))", "{{outcome}}")))
}

func leaderThresholds() *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps([]dashboard.Threshold{
		{Color: "red"}, {Color: "green", Value: ptr(1.0)}})
}

// OperationsJSON is the operations dashboard as Grafana's dashboard JSON
// model, pinned to SchemaVersion like the team dashboards.
func OperationsJSON() ([]byte, error) {
	d, err := operations().Build()
	if err != nil {
		return nil, fmt.Errorf("building the operations dashboard: %w", err)
	}
	d.SchemaVersion = SchemaVersion
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the operations dashboard: %w", err)
	}
	return append(b, '\n'), nil
}
