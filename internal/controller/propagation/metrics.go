package propagation

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics. The object counts are computed at scrape time from the forest
// and the cache (no gauges to keep in step); writes are counted as they
// happen. The type label is bounded by the configured types.
var (
	sourcesDesc = prometheus.NewDesc("canopy_propagation_source_objects",
		"Source objects (created by users) of a propagated type.", []string{"type"}, nil)
	copiesDesc = prometheus.NewDesc("canopy_propagation_propagated_objects",
		"Copies of a propagated type written by Canopy.", []string{"type"}, nil)
	writes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "canopy_propagation_writes_total",
		Help: "Writes of propagated copies by type, action (Create, Update, Delete) and result (ok, error).",
	}, []string{"type", "action", "result"})

	current      atomic.Pointer[Propagator]
	registerOnce sync.Once
)

// RegisterMetrics registers the propagation metrics with controller-runtime's
// registry once per process and points the scrape-time collector at p (the
// latest Propagator wins, as tests build several managers).
func RegisterMetrics(p *Propagator) {
	current.Store(p)
	registerOnce.Do(func() {
		crmetrics.Registry.MustRegister(collector{}, writes)
	})
}

type collector struct{}

func (collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sourcesDesc
	ch <- copiesDesc
}

func (collector) Collect(ch chan<- prometheus.Metric) {
	p := current.Load()
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	types, _ := p.TypeStatuses(ctx)
	for _, t := range types {
		if t.Err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(sourcesDesc, prometheus.GaugeValue, float64(t.Sources), t.GroupResource.String())
		ch <- prometheus.MustNewConstMetric(copiesDesc, prometheus.GaugeValue, float64(t.Propagated), t.GroupResource.String())
	}
}
