package cost

import (
	"time"

	"github.com/canopyhq/canopy/test/tools/costdemo"
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

// usageSeries are w's cAdvisor and kube-state-metrics series.
func usageSeries(w world) []costdemo.Series {
	out := costdemo.NodeCapacity(w.node, w.cores, w.memGiB<<30)
	for _, p := range w.pods {
		// Each pod uses half of what it requests.
		out = append(out, costdemo.PodUsage(p.namespace, p.name, "main", w.node, p.milliCPU/2, p.memGiB<<29)...)
	}
	return out
}
