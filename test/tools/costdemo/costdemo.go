// Package costdemo holds what runs the real OpenCost (v1.108.0, built by
// `make opencost-bin`) outside a test: where its binary is, its
// environment and prices, and the Prometheus history it needs, written as
// OpenMetrics for `promtool tsdb create-blocks-from openmetrics`. The demo
// (test/tools/demo) uses it; its approach is the cost e2e test's.
package costdemo

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// OpenCostVersion is the version test/tools/build-opencost.sh builds.
const OpenCostVersion = "v1.108.0"

// OpenCostPort is the port OpenCost's API and /metrics listen on, on every
// interface of the network namespace it runs in, unless OpenCostEnvOnPort
// names another (a second OpenCost beside the first).
const OpenCostPort = 9003

// OpenCostBinary returns the cost model binary: $OPENCOST_BIN, or the
// version-keyed cache `make opencost-bin` fills.
func OpenCostBinary() (string, error) {
	if p := os.Getenv("OPENCOST_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("OPENCOST_BIN: %w", err)
		}
		return p, nil
	}
	return controlplane.CachedBinary("opencost-"+OpenCostVersion, "costmodel", "opencost-bin")
}

// CustomPricing is OpenCost's default.json: per core-hour and per
// GiB-hour, binary fractions so every cost is exact at OpenCost's 5
// decimals. Write it fresh before each start: OpenCost rewrites it.
const CustomPricing = `{
  "provider": "custom",
  "description": "Canopy demo prices",
  "CPU": "0.25",
  "spotCPU": "0.25",
  "RAM": "0.125",
  "spotRAM": "0.125",
  "GPU": "0",
  "storage": "0",
  "zoneNetworkEgress": "0",
  "regionNetworkEgress": "0",
  "internetNetworkEgress": "0"
}
`

// OpenCostEnv is OpenCost's environment beyond the inherited one: the API
// server (kubeconfig), Prometheus, the prices directory (configDir, holding
// default.json), and every reporting, analytics and cloud feature off. It
// listens on OpenCostPort.
func OpenCostEnv(kubeconfig, promURL, configDir, clusterID string) []string {
	return OpenCostEnvOnPort(kubeconfig, promURL, configDir, clusterID, OpenCostPort)
}

// OpenCostEnvOnPort is OpenCostEnv listening on port.
func OpenCostEnvOnPort(kubeconfig, promURL, configDir, clusterID string, port int) []string {
	return []string{
		// Without it OpenCost thinks it runs outside a cluster and serves
		// no /allocation.
		"KUBERNETES_PORT=tcp://127.0.0.1:443",
		"KUBECONFIG=" + kubeconfig,
		"KUBECONFIG_PATH=" + kubeconfig,
		"PROMETHEUS_SERVER_ENDPOINT=" + promURL,
		"CLUSTER_ID=" + clusterID,
		"CONFIG_PATH=" + strings.TrimSuffix(configDir, "/") + "/",
		fmt.Sprintf("API_PORT=%d", port),
		"PRODUCT_ANALYTICS_ENABLED=false",
		"ERROR_REPORTING_ENABLED=false",
		"VALUES_REPORTING_ENABLED=false",
		"LOG_COLLECTION_ENABLED=false",
		"CLOUD_COST_ENABLED=false",
		"CACHE_WARMING_ENABLED=false",
		"EMIT_KSM_V1_METRICS=true",
	}
}

// Series is one time series of a history: a gauge of Value, or a counter
// growing at Rate per second from zero at the history's start.
type Series struct {
	Name   string
	Labels map[string]string
	Value  float64
	Rate   float64
}

// PodUsage is the kubelet's cAdvisor usage of one container, using
// milliCPU and memBytes: the series OpenCost reads usage from.
func PodUsage(namespace, pod, container, node string, milliCPU, memBytes int64) []Series {
	l := map[string]string{"namespace": namespace, "pod": pod, "container": container, "instance": node, "node": node, "job": "kubelet"}
	return []Series{
		{Name: "container_cpu_usage_seconds_total", Labels: l, Rate: float64(milliCPU) / 1000},
		{Name: "container_memory_working_set_bytes", Labels: l, Value: float64(memBytes)},
	}
}

// NodeCapacity is kube-state-metrics' capacity of a node, without which
// OpenCost's idle cost comes out negative.
func NodeCapacity(node string, cores, memBytes int64) []Series {
	l := map[string]string{"node": node, "job": "kube-state-metrics"}
	return []Series{
		{Name: "kube_node_status_capacity_cpu_cores", Labels: l, Value: float64(cores)},
		{Name: "kube_node_status_capacity_memory_bytes", Labels: l, Value: float64(memBytes)},
	}
}

// ExportedSeries turns OpenCost's /metrics exposition into constant
// series, labelled as Prometheus stores them when it scrapes OpenCost at
// instance under job with honor_labels, as if it had scraped them all
// along. Counters and Go runtime and process metrics are left out.
func ExportedSeries(exposition io.Reader, job, instance string) ([]Series, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(exposition)
	if err != nil {
		return nil, fmt.Errorf("parsing OpenCost's /metrics: %w", err)
	}
	var out []Series
	for name, f := range fams {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		if t := f.GetType(); t != dto.MetricType_GAUGE && t != dto.MetricType_UNTYPED {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{"job": job, "instance": instance}
			for _, lp := range m.GetLabel() {
				if lp.GetValue() != "" {
					l[lp.GetName()] = lp.GetValue()
				}
			}
			v := m.GetGauge().GetValue()
			if f.GetType() == dto.MetricType_UNTYPED {
				v = m.GetUntyped().GetValue()
			}
			out = append(out, Series{Name: name, Labels: l, Value: v})
		}
	}
	return out, nil
}

// OpenMetrics renders ss from end-length to end, one sample per interval,
// grouped by metric family as the format requires, ending with "# EOF".
func OpenMetrics(ss []Series, end time.Time, length, interval time.Duration) []byte {
	ss = append([]Series(nil), ss...)
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Name < ss[j].Name })
	start := end.Add(-length)
	var b strings.Builder
	for i, s := range ss {
		if i == 0 || ss[i-1].Name != s.Name {
			fmt.Fprintf(&b, "# TYPE %s gauge\n", s.Name)
		}
		lbl := formatLabels(s.Labels)
		for ts := start; !ts.After(end); ts = ts.Add(interval) {
			v := s.Value + s.Rate*ts.Sub(start).Seconds()
			fmt.Fprintf(&b, "%s%s %g %d\n", s.Name, lbl, v, ts.Unix())
		}
	}
	b.WriteString("# EOF\n")
	return []byte(b.String())
}

func formatLabels(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
