package setup

import (
	"strings"
	"testing"

	"k8s.io/client-go/rest"
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
			opts.MetricsAddr, opts.ProbeAddr = "0", "0"
			opts.SkipControllerNameValidation = true
			opts.Dashboard = tc.opts
			_, err := NewManager(cfg, opts)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("NewManager: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("NewManager error = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}
