package grafanaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the Grafana version the double answers /api/health with: the
// oldest one Canopy supports.
const Version = "10.0.0"

// Options configure Start.
type Options struct {
	// AdminUser and AdminPassword are the server admin's basic auth;
	// "admin" and "admin" when empty.
	AdminUser, AdminPassword string
}

// Server is a running double of Grafana's HTTP API on 127.0.0.1.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234.
	URL           string
	AdminUser     string
	AdminPassword string

	mu    sync.Mutex
	state *State
	calls []Call
	fault func(*http.Request) bool

	addr   string
	srvMu  sync.Mutex
	srv    *http.Server
	ln     net.Listener
	routes []route
	// client is what /api/ds/query uses to reach datasources.
	client *http.Client
}

// Call is one request the double served.
type Call struct {
	Method string
	// Path is the URL path, without the query.
	Path  string
	Query string
	// OrgID is the organization the request ran in; 0 for server-wide
	// endpoints and refused requests.
	OrgID int64
	// Login is the authenticated user, or "token" for a service account.
	Login  string
	Body   []byte
	Status int
}

// Write reports whether the call is a write: any method but GET and HEAD,
// except the two reads Grafana serves over POST (/api/ds/query, /api/search
// is a GET).
func (c Call) Write() bool {
	if c.Method == http.MethodGet || c.Method == http.MethodHead {
		return false
	}
	return c.Path != "/api/ds/query"
}

// Start runs the double on a free port of 127.0.0.1.
func Start(opts Options) (*Server, error) {
	if opts.AdminUser == "" {
		opts.AdminUser = "admin"
	}
	if opts.AdminPassword == "" {
		opts.AdminPassword = "admin"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the Grafana double: %w", err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(), AdminUser: opts.AdminUser, AdminPassword: opts.AdminPassword,
		state: newState(opts.AdminUser, opts.AdminPassword), addr: ln.Addr().String(),
		client: &http.Client{Timeout: 30 * time.Second},
	}
	s.routes = s.routeTable()
	s.serve(ln)
	return s, nil
}

// New starts the double for one test and stops it when the test ends.
func New(tb testing.TB, opts ...Options) *Server {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s, err := Start(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

func (s *Server) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	// One connection per request: no idle connection outlives Down, so a
	// request after Down always meets a refused connection, never a reset.
	srv.SetKeepAlivesEnabled(false)
	s.srvMu.Lock()
	s.srv, s.ln = srv, ln
	s.srvMu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Close stops the server and drops its connections.
func (s *Server) Close() {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		// Close the listener here, not only through the server: Serve may
		// not have started yet, and until it does the kernel would still
		// accept connections that then reset.
		_ = s.ln.Close()
		_ = s.srv.Close()
		s.srv, s.ln = nil, nil
	}
}

// Down stops listening, so every request fails as a refused connection
// would, until Up. The state is kept.
func (s *Server) Down() { s.Close() }

// Up listens again on the same address after Down.
func (s *Server) Up() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listening again on %s: %w", s.addr, err)
	}
	s.serve(ln)
	return nil
}

// View runs f on the state under the server's lock. f must not keep
// references past its return.
func (s *Server) View(f func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.state)
}

// Edit runs f on the state under the server's lock, to change it the way
// someone editing Grafana by hand would. It is not recorded as a call.
func (s *Server) Edit(f func(*State)) { s.View(f) }

// FailWhen makes every request for which match returns true fail with 500,
// as a broken Grafana would; nil stops failing.
func (s *Server) FailWhen(match func(*http.Request) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = match
}

// Calls returns every call served so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Mark returns a position in the call log for CallsSince and WritesSince.
func (s *Server) Mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// CallsSince returns the calls served after mark.
func (s *Server) CallsSince(mark int) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mark > len(s.calls) {
		mark = len(s.calls)
	}
	return append([]Call(nil), s.calls[mark:]...)
}

// WritesSince returns the write calls served after mark, whatever their
// status: a refused write was still attempted.
func (s *Server) WritesSince(mark int) []Call {
	var out []Call
	for _, c := range s.CallsSince(mark) {
		if c.Write() {
			out = append(out, c)
		}
	}
	return out
}

// Writes returns every write call served so far.
func (s *Server) Writes() []Call { return s.WritesSince(0) }

// WriteCount is len(Writes()).
func (s *Server) WriteCount() int { return len(s.Writes()) }

// request is one call in flight: who asks, in which organization.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	body    []byte
	user    *User  // nil for a token
	token   *Token // nil for a user
	orgID   int64
	orgRole string
	params  map[string]string
	call    *Call
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the request body failed")
		return
	}
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body}
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	req := &request{w: rw, r: r, body: body, call: &call}
	// The ds/query proxy call runs outside the lock, so Prometheus can be
	// slow without stalling the rest of the API.
	if r.URL.Path == "/api/ds/query" && r.Method == http.MethodPost {
		s.mu.Lock()
		ok := s.admit(req, http.MethodPost, "/api/ds/query", orgScoped, RoleViewer)
		var q *queryPlan
		if ok {
			q = s.planQuery(req)
		}
		s.mu.Unlock()
		if q != nil {
			s.runQuery(req, q)
		}
		s.record(call, rw.status)
		return
	}
	s.mu.Lock()
	s.dispatch(req)
	s.mu.Unlock()
	s.record(call, rw.status)
}

func (s *Server) record(c Call, status int) {
	c.Status = status
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the response failed")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeError answers in Grafana's error shape, {"message": "..."}.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"message": message})
}

// decodeStrict decodes the request body into v, refusing unknown fields
// and trailing data, as a 400 with Grafana's "bad request data" message.
func (q *request) decodeStrict(v any) bool {
	dec := json.NewDecoder(bytes.NewReader(q.body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err != nil {
		writeError(q.w, http.StatusBadRequest, "bad request data: "+err.Error())
		return false
	}
	return true
}

// HealthCheck waits until the double answers /api/health.
func (s *Server) HealthCheck(ctx context.Context) error {
	return Do(ctx, s.URL, "", "", 0, http.MethodGet, "/api/health", nil, nil)
}

func trimSlash(p string) string { return strings.TrimSuffix(p, "/") }
