package setup

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/canopyhq/canopy/internal/metrics"
)

type erroringHandler struct{}

func (erroringHandler) Handle(context.Context, admission.Request) admission.Response {
	return admission.Errored(http.StatusInternalServerError, errors.New("listing failed"))
}

// A webhook registered the way every webhook package registers is counted.
func TestWebhookServerCountsErrors(t *testing.T) {
	srv := countingWebhookServer{webhook.NewServer(webhook.Options{})}
	hook := &webhook.Admission{Handler: erroringHandler{}}
	srv.Register("/validate-counted", hook)
	before := metrics.WebhookErrors("/validate-counted")
	hook.Handle(context.Background(), admission.Request{})
	if got := metrics.WebhookErrors("/validate-counted") - before; got != 1 {
		t.Errorf("canopy_webhook_errors_total rose by %v after an internal error, want 1", got)
	}
	if _, pattern := srv.WebhookMux().Handler(httptest.NewRequest(http.MethodPost, "/validate-counted", nil)); pattern != "/validate-counted" {
		t.Errorf("the webhook is not served at its path (mux pattern %q)", pattern)
	}
}
