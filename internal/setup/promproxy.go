package setup

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/promproxy"
)

func init() { registrations = append(registrations, registerPromProxy) }

// PromProxyOptions configure the tenant Prometheus proxy, which every
// replica serves: each tenant's Grafana datasource reads Prometheus through
// it, confined to the tenant's namespaces (package promproxy). An empty
// Addr disables it.
type PromProxyOptions struct {
	// Addr is where the proxy listens, such as ":9095"; empty disables it.
	Addr string
	// PrometheusURL is the upstream Prometheus.
	PrometheusURL string
	// KeyFile holds the key the tenants' tokens are derived from (a
	// mounted Secret, the same on every replica). The dashboard controller
	// writes each tenant's token into its datasource.
	KeyFile string
	// Key replaces KeyFile, for tests.
	Key []byte
	// UnboundedHistory lets a request read a namespace's series from
	// before the namespace was created. By default it may not: a reused
	// namespace name would show its predecessor's series (package
	// promproxy). Only for Prometheus data that deliberately predates the
	// namespaces, such as backfilled demo and test data.
	UnboundedHistory bool
}

func (o *PromProxyOptions) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Addr, "tenant-prometheus-proxy-addr", o.Addr, "Address of the tenant Prometheus proxy, e.g. :9095, serving /tenants/<tenant>/api/v1/... confined to the tenant's namespaces; empty disables it.")
	fs.StringVar(&o.PrometheusURL, "prometheus-url", o.PrometheusURL, "Prometheus behind the tenant proxy, e.g. http://prometheus.monitoring:9090.")
	fs.BoolVar(&o.UnboundedHistory, "tenant-prometheus-proxy-unbounded-history", o.UnboundedHistory, "Let tenants read a namespace's series from before the namespace was created. Off by default: a reused namespace name would show its predecessor's series. Only for data that deliberately predates the namespaces (backfilled demo or test data).")
	fs.StringVar(&o.KeyFile, "tenant-prometheus-proxy-key-file", o.KeyFile, "File holding the key (at least 32 bytes) each tenant's proxy token is an HMAC under; the same on every replica. When set, tenant datasources send their token.")
}

// key returns the token key, or nil when none is configured.
func (o PromProxyOptions) key() ([]byte, error) {
	switch {
	case len(o.Key) > 0:
		if err := promproxy.ValidateKey(o.Key); err != nil {
			return nil, fmt.Errorf("tenant Prometheus proxy key: %w", err)
		}
		return o.Key, nil
	case o.KeyFile != "":
		k, err := promproxy.ReadKeyFile(o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--tenant-prometheus-proxy-key-file: %w", err)
		}
		return k, nil
	}
	return nil, nil
}

// validate checks an enabled proxy's options and returns its upstream and
// key.
func (o PromProxyOptions) validate() (*url.URL, []byte, error) {
	upstream, err := url.Parse(o.PrometheusURL)
	if err != nil || (upstream.Scheme != "http" && upstream.Scheme != "https") || upstream.Host == "" {
		return nil, nil, fmt.Errorf("--prometheus-url: want http(s)://host[:port][/path], got %q", o.PrometheusURL)
	}
	key, err := o.key()
	if err != nil {
		return nil, nil, err
	}
	if key == nil {
		return nil, nil, fmt.Errorf("--tenant-prometheus-proxy-addr needs --tenant-prometheus-proxy-key-file")
	}
	return upstream, key, nil
}

var (
	promProxyRequests     = promproxy.NewRequestsMetric()
	promProxyRequestsOnce sync.Once
	promProxyRequestsErr  error
)

func registerPromProxyMetrics() error {
	promProxyRequestsOnce.Do(func() {
		if err := crmetrics.Registry.Register(promProxyRequests); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				promProxyRequestsErr = fmt.Errorf("registering tenant Prometheus proxy metrics: %w", err)
			}
		}
	})
	return promProxyRequestsErr
}

// registerPromProxy adds the proxy's server to the manager, on every
// replica, when --tenant-prometheus-proxy-addr is set.
func registerPromProxy(mgr ctrl.Manager, d Deps) error {
	o := d.Options.PromProxy
	if o.Addr == "" {
		return nil
	}
	upstream, key, err := o.validate()
	if err != nil {
		return err
	}
	if err := registerPromProxyMetrics(); err != nil {
		return err
	}
	cfg := promproxy.Config{
		Upstream:   upstream,
		Key:        key,
		Tenant:     liveTenant(mgr.GetCache()),
		Namespaces: promproxy.ForestNamespaces(d.Forest),
		Requests:   promProxyRequests,
		Log:        mgr.GetLogger().WithName("tenant-prometheus-proxy"),
	}
	if !o.UnboundedHistory {
		cfg.NamespaceCreated = namespaceCreated(mgr.GetCache())
	}
	if d.Sync != nil {
		cfg.Ready = d.Sync.Loaded
	}
	h, err := promproxy.NewHandler(cfg)
	if err != nil {
		return fmt.Errorf("building the tenant Prometheus proxy: %w", err)
	}
	if err := mgr.Add(&httpRunnable{name: "tenant Prometheus proxy", addr: o.Addr, handler: h}); err != nil {
		return fmt.Errorf("adding the tenant Prometheus proxy: %w", err)
	}
	return nil
}

// liveTenant looks a Tenant up in the manager's cache: its UID, and whether
// it exists and is not being deleted.
func liveTenant(reader client.Reader) func(name string) (types.UID, bool) {
	return func(name string) (types.UID, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		t := &tenancyv1.Tenant{}
		if err := reader.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
			return "", false
		}
		if t.DeletionTimestamp != nil {
			return "", false
		}
		return t.UID, true
	}
}

// namespaceCreated reads a namespace's creation time from the manager's
// cache.
func namespaceCreated(reader client.Reader) func(ns string) (time.Time, bool) {
	return func(name string) (time.Time, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ns := &corev1.Namespace{}
		if err := reader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			return time.Time{}, false
		}
		return ns.CreationTimestamp.Time, true
	}
}

// httpRunnable serves a handler for as long as the manager runs, on every
// replica.
type httpRunnable struct {
	name    string
	addr    string
	handler http.Handler
}

func (*httpRunnable) NeedLeaderElection() bool { return false }

func (r *httpRunnable) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("%s: listening on %s: %w", r.name, r.addr, err)
	}
	srv := &http.Server{Handler: r.handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("%s: %w", r.name, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("%s: shutting down: %w", r.name, err)
	}
	return nil
}
