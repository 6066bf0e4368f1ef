package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// webhookErrors counts admission requests a webhook could not decide: its
// handler answered admission.Errored with a code of 500 or more (a failed
// read, an undecodable object the handler expected to decode). The API
// server takes such an answer as a denial, whatever the failurePolicy.
// controller-runtime writes every answer, errors included, with HTTP 200,
// so controller_runtime_webhook_requests_total{code="500"} never counts
// them; this counter does. It is a counter of events, like
// canopy_conflicts_total; its label is the webhook's path, a fixed set.
var webhookErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "canopy_webhook_errors_total",
	Help: "Admission requests a webhook answered with an internal error (result code 500 or more; controller-runtime still answers HTTP 200), by webhook path.",
}, []string{"webhook"})

func init() {
	crmetrics.Registry.MustRegister(webhookErrors)
}

// CountWebhookErrors wraps the handler of the webhook served at path so
// that every internal-error answer adds one to canopy_webhook_errors_total.
// The path's series starts at zero, so that rate() and the alerts see the
// first error.
func CountWebhookErrors(path string, h admission.Handler) admission.Handler {
	webhookErrors.WithLabelValues(path)
	return countingHandler{path: path, next: h}
}

type countingHandler struct {
	path string
	next admission.Handler
}

func (c countingHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	res := c.next.Handle(ctx, req)
	if !res.Allowed && res.Result != nil && res.Result.Code >= 500 {
		webhookErrors.WithLabelValues(c.path).Inc()
	}
	return res
}

// WebhookErrors returns the count for the webhook at path so far.
func WebhookErrors(path string) float64 {
	var m dto.Metric
	if err := webhookErrors.WithLabelValues(path).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
