package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// conflicts counts routine optimistic-lock conflicts: a write refused
// because another writer changed the object first. They are retried
// quietly; the counter is how an operator sees them. It is a counter, not a
// scrape-time value, because a conflict is an event, not a state; its labels
// are bounded (controllers and kinds are fixed sets).
var conflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "canopy_conflicts_total",
	Help: "Optimistic-lock conflicts retried, by controller (or webhook) and kind of object written.",
}, []string{"controller", "kind"})

func init() {
	crmetrics.Registry.MustRegister(conflicts)
}

// Conflict counts one conflict of controller writing an object of kind.
func Conflict(controller, kind string) {
	conflicts.WithLabelValues(controller, kind).Inc()
}

// Conflicts returns the count for controller and kind so far.
func Conflicts(controller, kind string) float64 {
	var m dto.Metric
	if err := conflicts.WithLabelValues(controller, kind).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
