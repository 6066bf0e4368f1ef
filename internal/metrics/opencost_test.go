package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// Each failed read from a real HTTP client adds one under its reason; a
// good read, and a read the caller's visit function fails, add nothing.
func TestCountOpenCostErrors(t *testing.T) {
	w := period.Window{Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC)}
	body := map[string]string{
		"/ok/allocation":        `{"code":200,"status":"success","data":[{},{}]}`,
		"/malformed/allocation": `{"code":200,"data":[`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, ok := body[r.URL.Path]
		if !ok {
			http.Error(rw, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = rw.Write([]byte(b))
	}))
	defer srv.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	errVisit := errors.New("visit failed")
	for _, tc := range []struct {
		name, url, component string
		visitErr             error
		wantReason           string // empty: nothing counted
	}{
		{name: "good read", url: srv.URL + "/ok", component: OpenCostController},
		{name: "caller's own error", url: srv.URL + "/ok", component: OpenCostController, visitErr: errVisit},
		{name: "HTTP 500", url: srv.URL + "/bad", component: OpenCostAPI, wantReason: opencost.ReasonBadStatus},
		{name: "truncated body", url: srv.URL + "/malformed", component: OpenCostExport, wantReason: opencost.ReasonMalformed},
		{name: "connection refused", url: downURL, component: OpenCostController, wantReason: opencost.ReasonUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reasons := []string{opencost.ReasonUnavailable, opencost.ReasonBadStatus, opencost.ReasonMalformed, opencost.ReasonFailed}
			before := map[string]float64{}
			for _, r := range reasons {
				before[r] = OpenCostFetchErrors(tc.component, r)
			}
			hc, err := opencost.NewHTTPClient(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			c := CountOpenCostErrors(hc, tc.component)
			_, err = c.Allocations(context.Background(), w, func(*opencost.Step) error { return tc.visitErr })
			if (err == nil) != (tc.wantReason == "" && tc.visitErr == nil) {
				t.Fatalf("Allocations error %v", err)
			}
			if tc.visitErr != nil && !errors.Is(err, tc.visitErr) {
				t.Fatalf("Allocations error %v, want the visit error", err)
			}
			for _, r := range reasons {
				want := before[r]
				if r == tc.wantReason {
					want++
				}
				if got := OpenCostFetchErrors(tc.component, r); got != want {
					t.Errorf("canopy_opencost_fetch_errors_total{component=%q,reason=%q} = %v, want %v", tc.component, r, got, want)
				}
			}
		})
	}
}
