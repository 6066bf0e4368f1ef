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

// usageSeries are the cAdvisor and kube-state-metrics series.
func usageSeries() []costdemo.Series {
	out := costdemo.NodeCapacity(nodeName, nodeCores, nodeGiB<<30)
	for _, p := range pods {
		// Each pod uses half of what it requests.
		out = append(out, costdemo.PodUsage(p.namespace, p.name, "main", nodeName, p.milliCPU/2, p.memGiB<<29)...)
	}
	return out
}
