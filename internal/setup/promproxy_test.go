package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// The tenant Prometheus proxy is off without an address, and refuses to
// start without an upstream or a key long enough to sign tokens with.
func TestPromProxyOptions(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	if err := os.WriteFile(good, []byte("  0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("tiny"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		opts    PromProxyOptions
		wantErr string
	}{
		{"no upstream", PromProxyOptions{Addr: "127.0.0.1:0", KeyFile: good}, "--prometheus-url"},
		{"relative upstream", PromProxyOptions{Addr: "127.0.0.1:0", PrometheusURL: "prometheus:9090", KeyFile: good}, "--prometheus-url"},
		{"no key", PromProxyOptions{Addr: "127.0.0.1:0", PrometheusURL: "http://127.0.0.1:9090"}, "--tenant-prometheus-proxy-key-file"},
		{"short key", PromProxyOptions{Addr: "127.0.0.1:0", PrometheusURL: "http://127.0.0.1:9090", KeyFile: short}, "at least 32"},
		{"short key in options", PromProxyOptions{Addr: "127.0.0.1:0", PrometheusURL: "http://127.0.0.1:9090", Key: []byte("x")}, "at least 32"},
		{"missing key file", PromProxyOptions{Addr: "127.0.0.1:0", PrometheusURL: "http://127.0.0.1:9090", KeyFile: filepath.Join(dir, "none")}, "reading key file"},
		{"enabled", PromProxyOptions{Addr: "127.0.0.1:0", PrometheusURL: "http://127.0.0.1:9090", KeyFile: good}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, key, err := tc.opts.validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("validate: %v", err)
			case tc.wantErr == "" && string(key) != "0123456789abcdef0123456789abcdef":
				t.Fatalf("key = %q, want the trimmed file content", key)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("validate error = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
	// Registration refuses a misconfigured proxy, and adds a configured
	// one to the manager.
	mgr, err := ctrl.NewManager(&rest.Config{Host: "http://127.0.0.1:1"}, ctrl.Options{
		Scheme: NewScheme(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.PromProxy = PromProxyOptions{Addr: "127.0.0.1:0", KeyFile: good}
	deps, err := newDeps(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := registerPromProxy(mgr, deps); err == nil || !strings.Contains(err.Error(), "--prometheus-url") {
		t.Errorf("registering without an upstream: error %v, want one naming --prometheus-url", err)
	}
	deps.Options.PromProxy.PrometheusURL = "http://127.0.0.1:9090"
	if err := registerPromProxy(mgr, deps); err != nil {
		t.Errorf("registering a configured proxy: %v", err)
	}
}
