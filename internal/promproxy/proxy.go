package promproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus-community/prom-label-proxy/injectproxy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PathPrefix starts every tenant's route: /tenants/<tenant>/api/v1/...
const PathPrefix = "/tenants/"

// maxFormBytes bounds a query request's body.
const maxFormBytes = 4 << 20

// Outcomes of a request, the values of the requests metric's label.
const (
	OutcomeAllowed         = "allowed"
	OutcomeUnauthenticated = "unauthenticated"
	OutcomeForbidden       = "forbidden"
	OutcomeNoNamespaces    = "no_namespaces"
	OutcomeUnavailable     = "unavailable"
)

// Config configures the proxy.
type Config struct {
	// Upstream is Prometheus's address.
	Upstream *url.URL
	// Key signs the tenants' tokens (see Token).
	Key []byte
	// Tenant returns the UID of the live Tenant of that name (one that
	// exists and is not being deleted); ok is false when there is none, and
	// every token for the name is refused.
	Tenant func(name string) (uid types.UID, ok bool)
	// Namespaces returns a tenant's namespaces, read live (from the
	// forest); none means the tenant has no data to show.
	Namespaces func(tenant string) []string
	// NamespaceCreated returns a namespace's creation time (false when it
	// is unknown); a request reads a namespace's series only from then on
	// (see history.go). Nil disables that bound.
	NamespaceCreated func(ns string) (time.Time, bool)
	// Lookback must be at least Prometheus's --query.lookback-delta; zero
	// means DefaultLookback (Prometheus's default).
	Lookback time.Duration
	// Ready reports whether Namespaces can be trusted yet; nil means always.
	Ready func() bool
	// Rules choose the label enforced on each selector.
	Rules Rules
	// Requests, if set, counts requests by outcome.
	Requests *prometheus.CounterVec
	// Log receives upstream errors; nil discards them.
	Log logr.Logger
}

// NewRequestsMetric returns the counter Config.Requests expects.
func NewRequestsMetric() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "canopy_prometheus_proxy_requests_total",
		Help: "Requests to the tenant Prometheus proxy, by outcome (allowed, unauthenticated, forbidden, no_namespaces, unavailable).",
	}, []string{"outcome"})
}

type handler struct {
	cfg    Config
	mux    *http.ServeMux
	inner  *http.ServeMux
	direct *httputil.ReverseProxy
}

// NewHandler serves /tenants/<tenant>/<Prometheus API path>.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Upstream == nil || cfg.Upstream.Scheme == "" || cfg.Upstream.Host == "" {
		return nil, fmt.Errorf("prometheus upstream URL is missing or not absolute")
	}
	if err := ValidateKey(cfg.Key); err != nil {
		return nil, fmt.Errorf("tenant token key: %w", err)
	}
	if cfg.Namespaces == nil {
		return nil, fmt.Errorf("no namespace source")
	}
	if cfg.Tenant == nil {
		return nil, fmt.Errorf("no tenant source")
	}
	// The metadata, rules and alerts endpoints: injectproxy's own routes,
	// with the namespace values this package put in the context.
	routes, err := injectproxy.NewRoutes(cfg.Upstream, cfg.Rules.namespaceLabel(), scopeLabeler{},
		injectproxy.WithEnabledLabelsAPI(),
		injectproxy.WithPassthroughPaths([]string{"/api/v1/status/buildinfo"}))
	if err != nil {
		return nil, fmt.Errorf("building label-enforcing routes: %w", err)
	}
	upstream := cfg.Upstream
	h := &handler{cfg: cfg, mux: http.NewServeMux(), inner: http.NewServeMux()}
	h.direct = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(upstream) },
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			cfg.Log.Error(err, "Prometheus upstream request failed")
			apiError(w, http.StatusBadGateway, "unavailable", "Prometheus upstream request failed")
		},
	}
	// The query endpoints enforce selector by selector (see Rules).
	for _, p := range []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/query_exemplars"} {
		h.inner.HandleFunc(p, h.query)
	}
	h.inner.Handle("/", routes)
	h.mux.HandleFunc(PathPrefix+"{tenant}/{rest...}", h.tenant)
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *handler) count(outcome string) {
	if h.cfg.Requests != nil {
		h.cfg.Requests.WithLabelValues(outcome).Inc()
	}
}

// tenant authenticates the request, reads the tenant's namespaces and
// hands the request, its path stripped of the prefix, to the enforcing
// routes.
func (h *handler) tenant(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if errs := validation.IsDNS1123Label(tenant); len(errs) > 0 {
		h.count(OutcomeForbidden)
		apiError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("tenant %q is not a valid name", tenant))
		return
	}
	token, ok := bearerToken(r)
	if !ok {
		h.count(OutcomeUnauthenticated)
		w.Header().Set("WWW-Authenticate", `Bearer realm="canopy tenant prometheus"`)
		apiError(w, http.StatusUnauthorized, "unauthorized", "a bearer token is required")
		return
	}
	if h.cfg.Ready != nil && !h.cfg.Ready() {
		h.count(OutcomeUnavailable)
		w.Header().Set("Retry-After", "5")
		apiError(w, http.StatusServiceUnavailable, "unavailable", "the namespace tree has not loaded yet")
		return
	}
	// A token is good only for the Tenant object it was made for, and
	// only while that object lives. The same answer for a wrong token and
	// for no such Tenant tells a caller nothing about which tenants exist.
	uid, live := h.cfg.Tenant(tenant)
	if !live || !validToken(h.cfg.Key, tenant, uid, token) {
		h.count(OutcomeForbidden)
		apiError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("the token is not that of the live tenant %q", tenant))
		return
	}
	namespaces := h.cfg.Namespaces(tenant)
	if len(namespaces) == 0 {
		h.count(OutcomeNoNamespaces)
		apiError(w, http.StatusNotFound, "not_found", fmt.Sprintf("tenant %q has no namespaces", tenant))
		return
	}
	rest := "/" + r.PathValue("rest")
	if why := uncoveredPath(rest); why != "" {
		h.count(OutcomeForbidden)
		apiError(w, http.StatusNotFound, "not_found", fmt.Sprintf("path %q is not served: %s", rest, why))
		return
	}
	h.count(OutcomeAllowed)

	out := r.Clone(r.Context())
	out.Header.Del("Authorization") // Prometheus never sees a tenant's token
	out.URL.Path = rest
	out.URL.RawPath = ""
	out.RequestURI = ""
	scope, ok := h.clampMetadata(w, out, Scope{Tenant: tenant, Namespaces: namespaces})
	if !ok {
		return
	}
	ctx := context.WithValue(out.Context(), scopeKey{}, scope)
	ctx = injectproxy.WithLabelValues(ctx, scope.Namespaces)
	h.inner.ServeHTTP(w, out.WithContext(ctx))
}

// filteredPaths are the endpoints whose responses injectproxy filters, on
// these exact paths only.
var filteredPaths = []string{"/api/v1/rules", "/api/v1/alerts"}

// uncoveredPath says why a path must be refused, or "" to serve it.
// injectproxy routes /api/v1/rules/ and /api/v1/alerts/ (and anything below
// them) to the same handlers, but filters responses by exact path only:
// Prometheus redirects those spellings, another backend may answer them
// whole. No endpoint served here ends in a slash or holds an empty segment,
// so such paths are refused outright, as is anything below a filtered
// endpoint.
func uncoveredPath(p string) string {
	if strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return "no endpoint ends in a slash or has an empty path segment"
	}
	for _, f := range filteredPaths {
		if strings.HasPrefix(p, f+"/") {
			return "only " + f + " itself is served"
		}
	}
	return ""
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

type scopeKey struct{}

func scopeFrom(ctx context.Context) (Scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(Scope)
	return s, ok && len(s.Namespaces) > 0
}

// scopeLabeler hands injectproxy the values tenant() stored, and refuses a
// request that somehow has none, rather than letting it through.
type scopeLabeler struct{}

func (scopeLabeler) ExtractLabel(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := scopeFrom(r.Context()); !ok {
			apiError(w, http.StatusForbidden, "forbidden", "no tenant scope")
			return
		}
		next(w, r)
	})
}

// query enforces the rules on the "query" parameter, in the URL and in a
// form body alike, then forwards the request.
func (h *handler) query(w http.ResponseWriter, r *http.Request) {
	s, ok := scopeFrom(r.Context())
	if !ok {
		apiError(w, http.StatusForbidden, "forbidden", "no tenant scope")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		apiError(w, http.StatusMethodNotAllowed, "bad_data", "use GET or POST")
		return
	}
	urlValues := r.URL.Query()
	var form url.Values
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			apiError(w, http.StatusBadRequest, "bad_data", fmt.Sprintf("reading the form: %v", err))
			return
		}
		form = r.PostForm
	}
	s, err := h.queryScope(s, urlValues, form)
	if err != nil {
		h.queryError(w, err)
		return
	}
	found, err := h.enforceValues(urlValues, s)
	if err != nil {
		h.queryError(w, err)
		return
	}
	r.URL.RawQuery = urlValues.Encode()
	if form != nil {
		inBody, err := h.enforceValues(form, s)
		if err != nil {
			h.queryError(w, err)
			return
		}
		found = found || inBody
		setBody(r, form)
	}
	if !found {
		apiError(w, http.StatusBadRequest, "bad_data", "the query parameter is required")
		return
	}
	h.direct.ServeHTTP(w, r)
}

// queryScope narrows s to the namespaces that existed at the earliest
// sample the request's queries may read (see history.go).
func (h *handler) queryScope(s Scope, vs ...url.Values) (Scope, error) {
	if h.cfg.NamespaceCreated == nil {
		return s, nil
	}
	var back time.Duration
	for _, v := range vs {
		for _, q := range v["query"] {
			expr, err := parser.ParseExpr(q)
			if err != nil {
				return s, fmt.Errorf("%w: %w", ErrBadQuery, err)
			}
			b, err := lookbehind(expr, h.lookback())
			if err != nil {
				return s, err
			}
			back = max(back, b)
		}
	}
	earliest, err := earliestOf(time.Now(), []string{"time", "start"}, vs...)
	if err != nil {
		return s, err
	}
	return h.bornBy(s, earliest.Add(-back)), nil
}

// setBody replaces a form request's body with form, encoded.
func setBody(r *http.Request, form url.Values) {
	body := form.Encode()
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// enforceValues rewrites v's query, if it has one, and reports whether it
// had. Several values are all rewritten: Prometheus reads the first, and
// none may escape.
func (h *handler) enforceValues(v url.Values, s Scope) (bool, error) {
	qs, ok := v["query"]
	if !ok {
		return false, nil
	}
	for i, q := range qs {
		enforced, err := h.cfg.Rules.Enforce(q, s)
		if err != nil {
			return false, err
		}
		qs[i] = enforced
	}
	return true, nil
}

func (h *handler) queryError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrBadQuery) || errors.Is(err, ErrAtModifier) || errors.Is(err, injectproxy.ErrIllegalLabelMatcher) {
		apiError(w, http.StatusBadRequest, "bad_data", err.Error())
		return
	}
	apiError(w, http.StatusInternalServerError, "internal", err.Error())
}

// apiError answers in the shape of Prometheus's API errors, which Grafana
// shows to the user.
func apiError(w http.ResponseWriter, code int, errorType, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": errorType, "error": msg})
}
