package setup

import (
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// An empty --grafana-url disables the dashboard controller: the manager
// builds without any Grafana configuration, while a configured URL with
// incomplete options is refused.
func TestDashboardDisabledWithoutURL(t *testing.T) {
	cfg := &rest.Config{Host: "http://127.0.0.1:1"}
	cases := []struct {
		name    string
		opts    DashboardOptions
		wantErr string
	}{
		{"disabled", DashboardOptions{}, ""},
		{"enabled without secret", DashboardOptions{GrafanaURL: "http://grafana.test"}, "--grafana-credentials-secret"},
		{"enabled", DashboardOptions{GrafanaURL: "http://grafana.test", CredentialsSecret: "canopy-system/grafana"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			opts.Dashboard = tc.opts
			// Only the dashboard wiring, on a bare manager: other domains
			// need a reachable API server to register.
			skip := true
			mgr, err := ctrl.NewManager(cfg, ctrl.Options{
				Scheme:                 NewScheme(),
				Metrics:                metricsserver.Options{BindAddress: "0"},
				HealthProbeBindAddress: "0",
				Controller:             config.Controller{SkipNameValidation: &skip},
			})
			if err != nil {
				t.Fatal(err)
			}
			deps, err := newDeps(opts)
			if err != nil {
				t.Fatal(err)
			}
			err = registerDashboard(mgr, deps)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("registering the dashboard controller: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("registering the dashboard controller: error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}
