// Package grafana tests Canopy's dashboards end to end, against the strict
// Grafana API double (test/tools/grafanaapi; no Grafana server is built or
// run), Debian's real Prometheus holding backfilled synthetic series, and
// the real control plane, with the manager serving the tenant Prometheus
// proxy. The manager provisions through its production client, and every
// check a team makes goes through Grafana's HTTP API, logged in as the
// Grafana users the Tenants name: /api/search and /api/dashboards as
// those users, and /api/ds/query, which the double proxies to the tenant's
// datasource URL, through the tenant proxy, to Prometheus.
//
// A missing Prometheus package fails the run (TestMain exits 1 naming
// the package); nothing is skipped.
package grafana

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

// suite is what every test shares.
type suite struct {
	env     *framework.Env
	grafana *grafanaapi.Server
	prom    *prometheus.Server
	// proxyURL is the tenant Prometheus proxy's base URL.
	proxyURL string
	// key signs the tenants' proxy tokens.
	key []byte
}

var s suite

// users are the Grafana users the Tenants name, with their passwords.
var users = map[string]string{
	"olivia": "olivia-e2e-pw", // owner of acme: the acme team
	"alice":  "alice-e2e-pw",  // acme's web team
	"bob":    "bob-e2e-pw",    // globex's api team
}

// resync is how often the dashboard controller re-reads Grafana; short, so
// drift is reverted within seconds.
const resync = 2 * time.Second

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "grafana e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "canopy-grafana-e2e-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)

	// Prometheus, with three hours of synthetic series ending now.
	data := filepath.Join(dir, "prometheus")
	if err := prometheus.Backfill(ctx, data, openMetrics(syntheticSeries(tenants), time.Now(), 3)); err != nil {
		return 0, err
	}
	prom, stopProm, err := prometheus.Start(ctx, prometheus.Options{DataDir: data, LookbackDelta: time.Hour})
	if err != nil {
		return 0, err
	}
	defer stopProm()
	s.prom = prom

	// Grafana's API, with the users made through its admin API. Its call
	// log counts the manager's requests.
	g, err := grafanaapi.Start(grafanaapi.Options{AdminPassword: "admin-e2e-pw"})
	if err != nil {
		return 0, err
	}
	defer g.Close()
	s.grafana = g
	for login, pw := range users {
		if _, err := g.CreateUser(ctx, login, login+"@example.com", pw); err != nil {
			return 0, err
		}
	}

	env, err := framework.Start()
	if err != nil {
		return 0, err
	}
	defer func() { _ = env.Stop() }()
	s.env = env
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "canopy-system", Name: "grafana"},
		StringData: map[string]string{"username": g.AdminUser, "password": g.AdminPassword},
	}
	if err := env.Client.Create(ctx, secret); err != nil {
		return 0, fmt.Errorf("creating the Grafana credentials Secret: %w", err)
	}

	// The manager again, now with Grafana and the tenant proxy.
	proxyPort, err := controlplane.FreePort()
	if err != nil {
		return 0, err
	}
	s.proxyURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(proxyPort))
	s.key = make([]byte, 32)
	_, _ = rand.Read(s.key)
	opts := env.Options
	opts.Dashboard = setup.DashboardOptions{
		GrafanaURL:            g.URL,
		PublicURL:             g.URL,
		CredentialsSecret:     "canopy-system/grafana",
		Resync:                resync,
		TeardownTimeout:       time.Minute,
		DatasourceURLTemplate: s.proxyURL + "/tenants/{{tenant}}",
	}
	opts.PromProxy = setup.PromProxyOptions{
		Addr:          net.JoinHostPort("127.0.0.1", strconv.Itoa(proxyPort)),
		PrometheusURL: prom.URL,
		Key:           s.key,
		// The synthetic series are backfilled, hours older than the
		// namespaces the tests create; the bound that hides a reused
		// name's older series is tested in test/integration/isolationdata.
		UnboundedHistory: true,
	}
	env.StopManager()
	if err := env.StartManager(opts); err != nil {
		return 0, fmt.Errorf("starting the manager with Grafana: %w", err)
	}
	return m.Run(), nil
}

// managerWritesSince describes the writes made after mark, one
// "METHOD path" each. The tests make theirs before taking the mark, so
// these are the manager's.
func managerWritesSince(mark int) []string {
	var out []string
	for _, c := range s.grafana.WritesSince(mark) {
		out = append(out, c.Method+" "+c.Path)
	}
	return out
}

// syncsSince counts the syncs of a tenant after mark: each begins by
// reading its organization by name. The tests read organizations through
// the double's Go API, so these are the manager's.
func syncsSince(mark int, tenant string) int {
	n := 0
	for _, c := range s.grafana.CallsSince(mark) {
		if c.Method == "GET" && c.Path == "/api/orgs/name/"+tenant {
			n++
		}
	}
	return n
}

func matching(all []string, substr string) []string {
	var out []string
	for _, w := range all {
		if strings.Contains(w, substr) {
			out = append(out, w)
		}
	}
	return out
}
