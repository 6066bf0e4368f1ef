package promproxy

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"

	"github.com/canopyhq/canopy/internal/forest"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// upstream records what reaches Prometheus.
type upstream struct {
	mu   sync.Mutex
	last *http.Request
	form url.Values
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	u.mu.Lock()
	u.last, u.form = r, r.Form
	u.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"success","data":[]}`)
}

func (u *upstream) got() (*http.Request, url.Values) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r, f := u.last, u.form
	u.last, u.form = nil, nil
	return r, f
}

// fixtureTenants are the live Tenants of the fixture and their UIDs.
var fixtureTenants = map[string]types.UID{"a": "uid-a", "b": "uid-b", "gone": "uid-gone"}

// fixtureUID is a fixture tenant's UID, or a made-up one for names that
// are no live Tenant.
func fixtureUID(name string) types.UID {
	if uid, ok := fixtureTenants[name]; ok {
		return uid
	}
	return types.UID("uid-of-no-tenant-" + name)
}

type fixture struct {
	tenants map[string]types.UID
	forest  *forest.Forest
	up      *upstream
	srv     *httptest.Server
	ready   bool
	handler http.Handler
	cfg     Config
}

// newFixture: tenant a owns a and a-dev, tenant b owns b, and the
// namespace c exists but is nobody's tenant root with a subtree.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{tenants: maps.Clone(fixtureTenants), forest: forest.New(), up: &upstream{}, ready: true}
	f.forest.Lock()
	for _, ns := range []string{"a", "a-dev", "b"} {
		f.forest.Get(ns).SetExists(true)
	}
	f.forest.Get("a-dev").SetParent(f.forest.Get("a"))
	f.forest.Unlock()
	f.srv = httptest.NewServer(f.up)
	t.Cleanup(f.srv.Close)
	u, _ := url.Parse(f.srv.URL)
	f.cfg = Config{
		Upstream: u,
		Key:      testKey,
		Tenant: func(name string) (types.UID, bool) {
			uid, ok := f.tenants[name]
			return uid, ok
		},
		Namespaces: ForestNamespaces(f.forest),
		Ready:      func() bool { return f.ready },
		Requests:   NewRequestsMetric(),
	}
	h, err := NewHandler(f.cfg)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	f.handler = h
	return f
}

func (f *fixture) do(t *testing.T, method, target, token string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

func TestTokens(t *testing.T) {
	if Token(testKey, "a", fixtureUID("a")) == Token(testKey, "b", fixtureUID("b")) {
		t.Error("tenants a and b got the same token")
	}
	if Token(testKey, "a", fixtureUID("a")) == Token([]byte("another key, also 32 bytes long!"), "a", fixtureUID("a")) {
		t.Error("two keys gave tenant a the same token")
	}
	if first, again := Token(testKey, "a", fixtureUID("a")), Token(testKey, "a", fixtureUID("a")); first != again {
		t.Error("token is not deterministic")
	}
	if err := ValidateKey([]byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	q := "/tenants/a/api/v1/query?query=up"
	tests := []struct {
		name   string
		target string
		header string
		want   int
	}{
		{"no token", q, "", http.StatusUnauthorized},
		{"basic auth is not a token", q, "Basic YTpi", http.StatusUnauthorized},
		{"other tenant's token", q, "Bearer " + Token(testKey, "b", fixtureUID("b")), http.StatusForbidden},
		{"garbage", q, "Bearer nope", http.StatusForbidden},
		{"token of another key", q, "Bearer " + Token([]byte("another key, also 32 bytes long!"), "a", fixtureUID("a")), http.StatusForbidden},
		{"token in the query string", q + "&token=" + Token(testKey, "a", fixtureUID("a")), "", http.StatusUnauthorized},
		{"own token", q, "Bearer " + Token(testKey, "a", fixtureUID("a")), http.StatusOK},
		{"b with b's token", "/tenants/b/api/v1/query?query=up", "Bearer " + Token(testKey, "b", fixtureUID("b")), http.StatusOK},
		{"invalid tenant name", "/tenants/A_B/api/v1/query?query=up", "Bearer " + Token(testKey, "A_B", fixtureUID("A_B")), http.StatusForbidden},
		{"no tenant route", "/api/v1/query?query=up", "Bearer " + Token(testKey, "a", fixtureUID("a")), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			f.handler.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d (body %s)", w.Code, tt.want, w.Body.String())
			}
			reached, _ := f.up.got()
			if (reached != nil) != (tt.want == http.StatusOK) {
				t.Errorf("request reached Prometheus: %v, want %v", reached != nil, tt.want == http.StatusOK)
			}
		})
	}
	if got := testutil.ToFloat64(f.cfg.Requests.WithLabelValues(OutcomeForbidden)); got != 4 {
		t.Errorf("forbidden requests counted %v, want 4", got)
	}
	if got := testutil.ToFloat64(f.cfg.Requests.WithLabelValues(OutcomeUnauthenticated)); got != 3 {
		t.Errorf("unauthenticated requests counted %v, want 3", got)
	}
}

func TestQueryEndpointsEnforced(t *testing.T) {
	f := newFixture(t)
	token := Token(testKey, "a", fixtureUID("a"))
	want := `up{namespace="b",namespace=~"a|a-dev"}`
	for _, path := range []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/query_exemplars"} {
		t.Run(path+" GET", func(t *testing.T) {
			w := f.do(t, http.MethodGet, "/tenants/a"+path+"?start=1&query="+url.QueryEscape(`up{namespace="b"}`), token, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			r, form := f.up.got()
			if r.URL.Path != path {
				t.Errorf("upstream path %q, want %q", r.URL.Path, path)
			}
			if diff := cmp.Diff([]string{want}, form["query"]); diff != "" {
				t.Errorf("upstream query (-want +got):\n%s", diff)
			}
			if form.Get("start") != "1" {
				t.Errorf("other parameters lost: %v", form)
			}
			if a := r.Header.Get("Authorization"); a != "" {
				t.Errorf("token forwarded upstream: %q", a)
			}
		})
		t.Run(path+" POST", func(t *testing.T) {
			w := f.do(t, http.MethodPost, "/tenants/a"+path, token, url.Values{"query": {`up{namespace="b"}`}, "step": {"60"}})
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			_, form := f.up.got()
			if diff := cmp.Diff([]string{want}, form["query"]); diff != "" {
				t.Errorf("upstream query (-want +got):\n%s", diff)
			}
			if form.Get("step") != "60" {
				t.Errorf("other parameters lost: %v", form)
			}
		})
	}
	t.Run("query in both URL and body", func(t *testing.T) {
		w := f.do(t, http.MethodPost, "/tenants/a/api/v1/query?query=x", token, url.Values{"query": {"y"}})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
		r, form := f.up.got()
		if got := r.URL.Query().Get("query"); got != `x{namespace=~"a|a-dev"}` {
			t.Errorf("URL query %q not enforced", got)
		}
		if diff := cmp.Diff([]string{`y{namespace=~"a|a-dev"}`, `x{namespace=~"a|a-dev"}`}, form["query"]); diff != "" {
			t.Errorf("form queries (-want +got):\n%s", diff)
		}
	})
	t.Run("no query", func(t *testing.T) {
		if w := f.do(t, http.MethodGet, "/tenants/a/api/v1/query", token, nil); w.Code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", w.Code)
		}
	})
	t.Run("bad query", func(t *testing.T) {
		w := f.do(t, http.MethodGet, "/tenants/a/api/v1/query?query=sum(", token, nil)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "bad_data") {
			t.Errorf("status %d body %s, want 400 bad_data", w.Code, w.Body.String())
		}
		if r, _ := f.up.got(); r != nil {
			t.Error("a bad query reached Prometheus")
		}
	})
}

func TestMetadataEndpointsEnforced(t *testing.T) {
	f := newFixture(t)
	token := Token(testKey, "a", fixtureUID("a"))
	tests := []struct {
		target string
		want   []string
	}{
		{"/tenants/a/api/v1/series?match[]=up", []string{`{__name__="up",namespace=~"a|a-dev"}`}},
		{"/tenants/a/api/v1/series?match[]=" + url.QueryEscape(`{namespace="b"}`), []string{`{namespace="b",namespace=~"a|a-dev"}`}},
		{"/tenants/a/api/v1/labels", []string{`{namespace=~"a|a-dev"}`}},
		{"/tenants/a/api/v1/label/job/values", []string{`{namespace=~"a|a-dev"}`}},
		{"/tenants/a/federate?match[]=up", []string{`{__name__="up",namespace=~"a|a-dev"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			w := f.do(t, http.MethodGet, tt.target, token, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			_, form := f.up.got()
			if diff := cmp.Diff(tt.want, form["match[]"]); diff != "" {
				t.Errorf("upstream match[] (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("series by POST", func(t *testing.T) {
		w := f.do(t, http.MethodPost, "/tenants/a/api/v1/series", token, url.Values{"match[]": {"up"}})
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
		// injectproxy also adds a bare matcher to the (empty) URL query;
		// what matters is that every match[] is confined.
		_, form := f.up.got()
		if !slices.Contains(form["match[]"], `{__name__="up",namespace=~"a|a-dev"}`) {
			t.Errorf("upstream match[] %q lacks the enforced body matcher", form["match[]"])
		}
		for _, m := range form["match[]"] {
			if !strings.Contains(m, `namespace=~"a|a-dev"`) {
				t.Errorf("upstream match[] %q is not confined", m)
			}
		}
	})
	t.Run("unknown endpoint is not passed through", func(t *testing.T) {
		if w := f.do(t, http.MethodGet, "/tenants/a/api/v1/status/tsdb", token, nil); w.Code != http.StatusNotFound {
			t.Errorf("status %d, want 404", w.Code)
		}
		if r, _ := f.up.got(); r != nil {
			t.Error("an unknown endpoint reached Prometheus")
		}
	})
}

func TestNamespacesAreReadLive(t *testing.T) {
	f := newFixture(t)
	token := Token(testKey, "a", fixtureUID("a"))
	f.forest.Lock()
	f.forest.Get("a-new").SetExists(true)
	f.forest.Get("a-new").SetParent(f.forest.Get("a-dev"))
	f.forest.Unlock()
	if w := f.do(t, http.MethodGet, "/tenants/a/api/v1/query?query=up", token, nil); w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	if _, form := f.up.got(); form.Get("query") != `up{namespace=~"a|a-dev|a-new"}` {
		t.Errorf("new subnamespace not covered: %q", form.Get("query"))
	}

	f.forest.Lock()
	f.forest.Get("a-new").SetExists(false)
	f.forest.Unlock()
	f.do(t, http.MethodGet, "/tenants/a/api/v1/query?query=up", token, nil)
	if _, form := f.up.got(); form.Get("query") != `up{namespace=~"a|a-dev"}` {
		t.Errorf("deleted subnamespace still covered: %q", form.Get("query"))
	}
}

func TestUnavailableAndEmpty(t *testing.T) {
	f := newFixture(t)
	f.ready = false
	if w := f.do(t, http.MethodGet, "/tenants/a/api/v1/query?query=up", Token(testKey, "a", fixtureUID("a")), nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("forest not loaded: status %d, want 503", w.Code)
	}
	f.ready = true
	if w := f.do(t, http.MethodGet, "/tenants/gone/api/v1/query?query=up", Token(testKey, "gone", fixtureUID("gone")), nil); w.Code != http.StatusNotFound {
		t.Errorf("tenant without namespaces: status %d, want 404", w.Code)
	}
	if r, _ := f.up.got(); r != nil {
		t.Error("a refused request reached Prometheus")
	}
}

func TestNewHandlerValidates(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9090")
	ns := func(string) []string { return nil }
	for name, cfg := range map[string]Config{
		"no upstream":     {Key: testKey, Namespaces: ns},
		"short key":       {Upstream: u, Key: []byte("x"), Namespaces: ns},
		"no namespaces":   {Upstream: u, Key: testKey, Tenant: func(string) (types.UID, bool) { return "", false }},
		"no tenants":      {Upstream: u, Key: testKey, Namespaces: ns},
		"relative target": {Upstream: &url.URL{Path: "/x"}, Key: testKey, Namespaces: ns},
	} {
		if _, err := NewHandler(cfg); err == nil {
			t.Errorf("%s: NewHandler accepted it", name)
		}
	}
}

// TestTokenBoundToLiveTenant: a token opens only the Tenant object it was
// made for, while it lives; a Tenant recreated under the same name (a new
// UID) does not honour its predecessor's token.
func TestTokenBoundToLiveTenant(t *testing.T) {
	f := newFixture(t)
	q := "/tenants/a/api/v1/query?query=up"
	old := Token(testKey, "a", fixtureUID("a"))
	if w := f.do(t, http.MethodGet, q, old, nil); w.Code != http.StatusOK {
		t.Fatalf("live tenant's token: status %d: %s", w.Code, w.Body.String())
	}
	delete(f.tenants, "a")
	if w := f.do(t, http.MethodGet, q, old, nil); w.Code != http.StatusForbidden {
		t.Errorf("deleted tenant's token: status %d, want 403", w.Code)
	}
	f.tenants["a"] = "uid-a-again"
	if w := f.do(t, http.MethodGet, q, old, nil); w.Code != http.StatusForbidden {
		t.Errorf("recreated tenant, old token: status %d, want 403", w.Code)
	}
	if w := f.do(t, http.MethodGet, q, Token(testKey, "a", "uid-a-again"), nil); w.Code != http.StatusOK {
		t.Errorf("recreated tenant, its own token: status %d, want 200", w.Code)
	}
	if r, _ := f.up.got(); r == nil {
		t.Error("the last, allowed request did not reach Prometheus")
	}
	if Token(testKey, "a", "u1") == Token(testKey, "a", "u2") {
		t.Error("two UIDs gave the same token")
	}
	if Token(testKey, "ab", "c") == Token(testKey, "a", "bc") {
		t.Error("name and UID are not separated in the signed text")
	}
}
