package grafana

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// series is one synthetic time series: a metric, its labels, and its value
// at minute i of the backfilled window.
type series struct {
	metric string
	labels map[string]string
	value  func(i int) float64
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

// syntheticSeries are what the dashboards read: OpenCost's allocation and
// node price metrics, cAdvisor's usage, kube-state-metrics' requests, and
// Canopy's own quota and cost metrics, in every namespace of both tenants,
// so a query that crosses a tenant boundary would find something.
func syntheticSeries(tenants map[string]tenantFixture) []series {
	var out []series
	out = append(out,
		series{"node_cpu_hourly_cost", map[string]string{"node": "node-1", "instance_type": "e2e"}, constant(0.031)},
		series{"node_ram_hourly_cost", map[string]string{"node": "node-1", "instance_type": "e2e"}, constant(0.004)},
	)
	names := sortedKeys(tenants)
	for _, tenant := range names {
		tf := tenants[tenant]
		out = append(out, series{"canopy_tenant_budget_ratio", map[string]string{"tenant": tenant}, constant(0.42)})
		for _, team := range tf.teams() {
			out = append(out, series{"canopy_tenant_cost", map[string]string{"tenant": tenant, "team": team, "resource": "cpu"}, constant(12.5)})
		}
		for _, ns := range tf.namespaces() {
			pod := map[string]string{"namespace": ns, "pod": ns + "-app", "container": "app", "node": "node-1"}
			out = append(out,
				series{"container_cpu_allocation", pod, constant(0.5)},
				series{"container_memory_allocation_bytes", pod, constant(1 << 30)},
				// A counter growing by 0.25 CPU-seconds per second.
				series{"container_cpu_usage_seconds_total", pod, func(i int) float64 { return float64(i) * 60 * 0.25 }},
				series{"container_memory_working_set_bytes", pod, constant(5e8)},
				series{"kube_pod_container_resource_requests", with(pod, "resource", "cpu", "unit", "core"), constant(0.5)},
				series{"kube_pod_container_resource_requests", with(pod, "resource", "memory", "unit", "byte"), constant(1e9)},
				series{"canopy_quota_used", map[string]string{"namespace": ns, "quota": "team", "kind": "HierarchicalResourceQuota", "resource": "requests.cpu"}, constant(1)},
				series{"canopy_quota_hard", map[string]string{"namespace": ns, "quota": "team", "kind": "HierarchicalResourceQuota", "resource": "requests.cpu"}, constant(4)},
			)
		}
	}
	return out
}

func with(base map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// openMetrics renders the series as OpenMetrics text for promtool's
// backfill: one sample a minute over the hours before end, families
// contiguous, samples in time order.
func openMetrics(all []series, end time.Time, hours int) []byte {
	byMetric := map[string][]series{}
	for _, s := range all {
		byMetric[s.metric] = append(byMetric[s.metric], s)
	}
	var b strings.Builder
	start := end.Add(-time.Duration(hours) * time.Hour).Truncate(time.Minute)
	steps := int(end.Sub(start) / time.Minute)
	for _, metric := range sortedKeys(byMetric) {
		fmt.Fprintf(&b, "# TYPE %s gauge\n", metric)
		for _, s := range byMetric[metric] {
			lbls := renderLabels(s.labels)
			for i := 0; i <= steps; i++ {
				ts := start.Add(time.Duration(i) * time.Minute).Unix()
				fmt.Fprintf(&b, "%s{%s} %g %d\n", metric, lbls, s.value(i), ts)
			}
		}
	}
	b.WriteString("# EOF\n")
	return []byte(b.String())
}

func renderLabels(l map[string]string) string {
	parts := make([]string, 0, len(l))
	for _, k := range sortedKeys(l) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return strings.Join(parts, ",")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
