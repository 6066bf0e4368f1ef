package metrics

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

type fixedHandler admission.Response

func (f fixedHandler) Handle(context.Context, admission.Request) admission.Response {
	return admission.Response(f)
}

// Only an internal-error answer counts: not an admission, not a denial, not
// a bad request.
func TestCountWebhookErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  admission.Response
		want float64
	}{
		{"allowed", admission.Allowed(""), 0},
		{"denied", admission.Denied("no"), 0},
		{"bad request", admission.Errored(http.StatusBadRequest, errors.New("undecodable")), 0},
		{"internal error", admission.Errored(http.StatusInternalServerError, errors.New("listing failed")), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/test-" + tc.name
			h := CountWebhookErrors(path, fixedHandler(tc.res))
			before := WebhookErrors(path)
			got := h.Handle(context.Background(), admission.Request{})
			if got.Allowed != tc.res.Allowed {
				t.Errorf("the wrapper changed the answer: %+v", got)
			}
			if n := WebhookErrors(path) - before; n != tc.want {
				t.Errorf("canopy_webhook_errors_total{webhook=%q} rose by %v, want %v", path, n, tc.want)
			}
		})
	}
}
