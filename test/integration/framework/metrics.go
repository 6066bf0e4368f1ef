package framework

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// APIServerMetrics scrapes the API server's /metrics through r, a REST
// client of the API server, and parses them.
func APIServerMetrics(ctx context.Context, r rest.Interface) (map[string]*dto.MetricFamily, error) {
	raw, err := r.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing the API server's metrics: %w", err)
	}
	return fams, nil
}

// Labels returns a sample's labels as a map.
func Labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// Value is a counter's or an untyped sample's value, or a gauge's.
func Value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}

// SumAPIServerMetric scrapes the API server that e serves through and sums
// the samples of the metric family name whose labels match.
func (e *Env) SumAPIServerMetric(t testing.TB, name string, match func(labels map[string]string) bool) float64 {
	t.Helper()
	cs, err := kubernetes.NewForConfig(e.CP.Config)
	if err != nil {
		t.Fatal(err)
	}
	fams, err := APIServerMetrics(context.Background(), cs.CoreV1().RESTClient())
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, m := range fams[name].GetMetric() {
		if match(Labels(m)) {
			n += Value(m)
		}
	}
	return n
}
