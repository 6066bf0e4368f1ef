package cost

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// History: the samples a real cluster would have given Prometheus over
// the backfilled hours, written as OpenMetrics for promtool. Two sources:
// the series OpenCost itself exports from the API objects (pods running,
// requests, node prices, labels), taken from its own /metrics as if it had
// been scraped all along, and the series of components this test does not
// run: the kubelet's cAdvisor usage, and kube-state-metrics' node capacity
// (without which OpenCost's idle comes out negative).
const (
	historyLength   = 27 * time.Hour
	historyInterval = time.Minute
	openCostJob     = "opencost"
)

// series is one time series: a gauge, or a counter growing at rate per
// second from zero at the history's start.
type series struct {
	name   string
	labels map[string]string
	value  float64
	rate   float64
}

// usageSeries are the cAdvisor and kube-state-metrics series.
func usageSeries() []series {
	var out []series
	for _, p := range pods {
		l := map[string]string{"namespace": p.namespace, "pod": p.name, "container": "main", "instance": nodeName, "node": nodeName, "job": "kubelet"}
		// Each pod uses half of what it requests.
		out = append(out,
			series{name: "container_cpu_usage_seconds_total", labels: l, rate: float64(p.milliCPU) / 2000},
			series{name: "container_memory_working_set_bytes", labels: l, value: float64(p.memGiB<<30) / 2},
		)
	}
	n := map[string]string{"node": nodeName, "job": "kube-state-metrics"}
	out = append(out,
		series{name: "kube_node_status_capacity_cpu_cores", labels: n, value: nodeCores},
		series{name: "kube_node_status_capacity_memory_bytes", labels: n, value: nodeGiB << 30},
	)
	return out
}

// exportedSeries turns OpenCost's /metrics exposition into constant
// series, labelled as Prometheus stores them when it scrapes OpenCost with
// honor_labels. Go runtime and process metrics are left out.
func exportedSeries(exposition io.Reader, target string) ([]series, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(exposition)
	if err != nil {
		return nil, fmt.Errorf("parsing OpenCost's /metrics: %w", err)
	}
	var out []series
	for name, f := range fams {
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		if t := f.GetType(); t != dto.MetricType_GAUGE && t != dto.MetricType_UNTYPED {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{"job": openCostJob, "instance": target}
			for _, lp := range m.GetLabel() {
				if lp.GetValue() != "" {
					l[lp.GetName()] = lp.GetValue()
				}
			}
			v := m.GetGauge().GetValue()
			if f.GetType() == dto.MetricType_UNTYPED {
				v = m.GetUntyped().GetValue()
			}
			out = append(out, series{name: name, labels: l, value: v})
		}
	}
	return out, nil
}

// openMetrics renders ss from end-historyLength to end, one sample per
// historyInterval, grouped by metric family as the format requires.
func openMetrics(ss []series, end time.Time) []byte {
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].name < ss[j].name })
	start := end.Add(-historyLength)
	var b strings.Builder
	for i, s := range ss {
		if i == 0 || ss[i-1].name != s.name {
			fmt.Fprintf(&b, "# TYPE %s gauge\n", s.name)
		}
		lbl := formatLabels(s.labels)
		for ts := start; !ts.After(end); ts = ts.Add(historyInterval) {
			v := s.value + s.rate*ts.Sub(start).Seconds()
			fmt.Fprintf(&b, "%s%s %g %d\n", s.name, lbl, v, ts.Unix())
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
