package framework

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// ready reports whether the manager's readiness endpoint passes (the
// forest has loaded); a disabled endpoint ("0" or "") counts as ready.
func ready(ctx context.Context, probeAddr string) bool {
	if probeAddr == "" || probeAddr == "0" {
		return true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+probeAddr+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// StartReplica starts one more manager with opts, beside the Env's own (if
// any), and waits until its webhook server answers TLS and its cache has
// synced and, when opts.ProbeAddr is set, until it reports ready (its
// forest has loaded). Give it its own WebhookPort; the cert dir may be shared. stop
// cancels it and waits for it to exit (a graceful shutdown: in-flight
// webhook requests finish and, with leader election, the lease is
// released).
func (e *Env) StartReplica(opts setup.Options) (stop func(), err error) {
	_, stop, err = e.StartReplicaManager(opts)
	return stop, err
}

// StartReplicaManager is StartReplica, also returning the replica's
// manager, so that a test can look at its caches.
func (e *Env) StartReplicaManager(opts setup.Options) (mgr manager.Manager, stop func(), err error) {
	cfg := e.CP.Config
	if e.ManagerConfig != nil {
		cfg = e.ManagerConfig
	}
	mgr, err = setup.NewManager(cfg, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("creating replica: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			_ = <-done // stopping: the manager's exit error is not news
		})
	}
	addr := net.JoinHostPort(opts.WebhookHost, strconv.Itoa(opts.WebhookPort))
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		select {
		case err := <-done:
			done <- err
			return false, fmt.Errorf("replica exited: %w", err)
		default:
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // readiness probe only
		if err != nil {
			return false, nil
		}
		_ = conn.Close()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return false, nil
		}
		return ready(ctx, opts.ProbeAddr), nil
	})
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("waiting for the replica: %w", err)
	}
	return mgr, stop, nil
}

// Proxy is a loopback round-robin proxy in front of several webhook
// servers. Each webhook configuration has one URL, so without it every
// call would reach one replica. It balances per request, not per
// connection: the API server keeps its connections to a webhook alive, so
// a TCP-level proxy would pin each connection to one replica. It
// terminates TLS with the webhook certificate and forwards to the
// replicas over TLS; a replica that refuses the connection (stopped) is
// skipped, and the request goes to the next one.
type Proxy struct {
	srv      *http.Server
	backends []*url.URL
	next     atomic.Uint64
	// Served counts the requests each backend answered, by index.
	served []atomic.Int64
}

// StartProxy listens on addr with the certificate in certDir and
// round-robins to backends (host:port).
func StartProxy(addr, certDir string, backends ...string) (*Proxy, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if err != nil {
		return nil, fmt.Errorf("loading the webhook certificate: %w", err)
	}
	p := &Proxy{served: make([]atomic.Int64, len(backends))}
	for _, b := range backends {
		p.backends = append(p.backends, &url.URL{Scheme: "https", Host: b})
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback to our own replicas
		MaxIdleConnsPerHost: 100,
		// Fail over quickly from a replica that stopped.
		DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(*httputil.ProxyRequest) {},
		Transport: &failover{p: p, rt: transport},
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	p.srv = &http.Server{Handler: rp, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.ServeTLS(l, "", "") }()
	return p, nil
}

// Served returns how many requests backend i answered.
func (p *Proxy) Served(i int) int64 { return p.served[i].Load() }

// Stop closes the proxy.
func (p *Proxy) Stop() { _ = p.srv.Close() }

// failover sends each request to the next backend in turn and, when a
// backend fails (refused the connection, or closed it while stopping), to
// the one after it. Resending is safe for Canopy's webhooks: decisions are
// pure, and a quota reservation records a namespace's new total, so
// replaying one reserves nothing more.
type failover struct {
	p  *Proxy
	rt http.RoundTripper
}

func (f *failover) RoundTrip(req *http.Request) (*http.Response, error) {
	// Admission reviews are small: buffer the body so a retry can resend it.
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	_ = req.Body.Close()
	n := len(f.p.backends)
	start := int(f.p.next.Add(1)) % n
	var last error
	for i := range n {
		idx := (start + i) % n
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host, out.Host = f.p.backends[idx].Scheme, f.p.backends[idx].Host, ""
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		out.ContentLength = int64(len(body))
		resp, err := f.rt.RoundTrip(out)
		if err == nil {
			f.p.served[idx].Add(1)
			return resp, nil
		}
		last = err
		if req.Context().Err() != nil {
			return nil, err
		}
	}
	return nil, last
}

// Replicas stops the Env's manager and starts n replicas with leader
// election (lease leaderElectionID), each on its own webhook port, behind
// a round-robin Proxy on the webhook port the API server calls. stops[i]
// stops replica i (a second call is a no-op); cleanup stops the rest and
// the proxy, then restores the Env's single manager.
func (e *Env) Replicas(t testing.TB, n int, leaderElectionID string) (stops []func(), proxy *Proxy) {
	t.Helper()
	e.StopManager()
	t.Cleanup(func() {
		if err := e.StartManager(e.Options); err != nil {
			t.Errorf("restarting the single manager: %v", err)
		}
	})
	var backends []string
	for range n {
		port, err := controlplane.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		probe, err := controlplane.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		opts := e.Options
		opts.WebhookPort = port
		opts.ProbeAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(probe))
		opts.LeaderElection = true
		opts.LeaderElectionID = leaderElectionID
		stop, err := e.StartReplica(opts)
		if err != nil {
			t.Fatal(err)
		}
		stops = append(stops, stop)
		t.Cleanup(stop)
		backends = append(backends, net.JoinHostPort(opts.WebhookHost, strconv.Itoa(port)))
	}
	addr := net.JoinHostPort(e.Options.WebhookHost, strconv.Itoa(e.Options.WebhookPort))
	p, err := StartProxy(addr, e.Options.WebhookCertDir, backends...)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the proxy frees the port before the
	// single manager takes it back.
	t.Cleanup(p.Stop)
	return stops, p
}
