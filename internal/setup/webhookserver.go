package setup

import (
	"net/http"

	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/canopyhq/canopy/internal/metrics"
)

// countingWebhookServer registers every admission webhook with its handler
// wrapped by metrics.CountWebhookErrors, so that each webhook package
// registers as before and every webhook is counted.
type countingWebhookServer struct {
	webhook.Server
}

// Register wraps admission webhooks' handlers, then registers them.
func (s countingWebhookServer) Register(path string, hook http.Handler) {
	if a, ok := hook.(*webhook.Admission); ok && a.Handler != nil {
		a.Handler = metrics.CountWebhookErrors(path, a.Handler)
	}
	s.Server.Register(path, hook)
}
