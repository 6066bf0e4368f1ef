package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// openCostFetchErrors counts failed reads from OpenCost. Like
// canopy_conflicts_total it is a counter of events, not a scrape-time
// state. Its labels are bounded: the components are the three readers
// below, and the reasons are opencost.Reason's.
var openCostFetchErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "canopy_opencost_fetch_errors_total",
	Help: "Reads from OpenCost that failed, by component (controller, api, export) and reason (OpenCostUnavailable, OpenCostBadStatus, OpenCostMalformed).",
}, []string{"component", "reason"})

// Components reading OpenCost, as the component label reports them.
const (
	OpenCostController = "controller"
	OpenCostAPI        = "api"
	OpenCostExport     = "export"
)

func init() {
	crmetrics.Registry.MustRegister(openCostFetchErrors)
}

// CountOpenCostErrors wraps c so that every read that fails because of
// OpenCost adds one to canopy_opencost_fetch_errors_total for component.
// An error returned by the caller's own visit function is Canopy's, not
// OpenCost's, and is not counted.
//
// The component's series start at zero, so that increase() sees the first
// failure.
func CountOpenCostErrors(c opencost.Client, component string) opencost.Client {
	for _, r := range []string{opencost.ReasonUnavailable, opencost.ReasonBadStatus, opencost.ReasonMalformed} {
		openCostFetchErrors.WithLabelValues(component, r)
	}
	return countingOpenCost{next: c, component: component}
}

type countingOpenCost struct {
	next      opencost.Client
	component string
}

func (c countingOpenCost) Allocations(ctx context.Context, w period.Window, visit func(*opencost.Step) error) (opencost.Response, error) {
	resp, err := c.next.Allocations(ctx, w, visit)
	if err != nil {
		if reason := opencost.Reason(err); reason != opencost.ReasonFailed {
			openCostFetchErrors.WithLabelValues(c.component, reason).Inc()
		}
	}
	return resp, err
}

// OpenCostFetchErrors returns the count for component and reason so far.
func OpenCostFetchErrors(component, reason string) float64 {
	var m dto.Metric
	if err := openCostFetchErrors.WithLabelValues(component, reason).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
