package promproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// nonRedirecting answers every path under /api/v1/rules and /api/v1/alerts,
// trailing slash or not, with rules and alerts of namespaces a and b, as a
// Prometheus-compatible backend that does not redirect may.
func nonRedirecting(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/v1/rules"):
			_, _ = io.WriteString(w, `{"status":"success","data":{"groups":[{"name":"g","file":"f","interval":1,"rules":[`+
				`{"type":"alerting","name":"SecretOfA","query":"x","labels":{"namespace":"a"},"health":"ok","alerts":[]},`+
				`{"type":"alerting","name":"SecretOfB","query":"x","labels":{"namespace":"b"},"health":"ok","alerts":[]}]}]}}`)
		case strings.HasPrefix(r.URL.Path, "/api/v1/alerts"):
			_, _ = io.WriteString(w, `{"status":"success","data":{"alerts":[`+
				`{"labels":{"alertname":"SecretOfA","namespace":"a"},"annotations":{},"state":"firing","value":"1"},`+
				`{"labels":{"alertname":"SecretOfB","namespace":"b"},"annotations":{},"state":"firing","value":"1"}]}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRulesAndAlertsNeverUnfiltered reads the rules and alerts endpoints as
// tenant a through every spelling of their paths: what comes back never
// holds tenant b's rule or alert; a spelling the filter does not cover is
// refused before it reaches the backend.
func TestRulesAndAlertsNeverUnfiltered(t *testing.T) {
	f := newFixture(t)
	backend := nonRedirecting(t)
	u, _ := url.Parse(backend.URL)
	cfg := f.cfg
	cfg.Upstream = u
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	token := Token(testKey, "a", fixtureUID("a"))
	for _, path := range []string{
		"/api/v1/rules", "/api/v1/alerts",
		"/api/v1/rules/", "/api/v1/alerts/",
		"/api/v1/rules//", "/api/v1/alerts/x", "/api/v1/rules/x/",
		"/api/v1/rules%2F", "/api/v1/alerts%2F",
	} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/tenants/a"+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = res.Body.Close() }()
			body, _ := io.ReadAll(res.Body)
			if strings.Contains(string(body), "SecretOfB") {
				t.Fatalf("tenant a read tenant b's rule or alert through %s (status %d): %s", path, res.StatusCode, body)
			}
			exact := path == "/api/v1/rules" || path == "/api/v1/alerts"
			if exact && (res.StatusCode != http.StatusOK || !strings.Contains(string(body), "SecretOfA")) {
				t.Errorf("status %d, want 200 with a's own rule: %s", res.StatusCode, body)
			}
			if !exact && res.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404 for a path the filter does not cover: %s", res.StatusCode, body)
			}
		})
	}
}
