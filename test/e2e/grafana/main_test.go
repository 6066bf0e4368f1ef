// Package grafana tests Canopy's dashboards end to end, against a real
// Grafana 10 server (built by `make grafana-bin`), Debian's real Prometheus
// holding backfilled synthetic series, and the real control plane, with the
// manager serving the tenant Prometheus proxy. Every check goes through
// Grafana's own HTTP API, logged in as the Grafana users the Tenants name.
//
// A missing Grafana build or Prometheus package fails the run (TestMain
// exits 1 naming the Make target or package); nothing is skipped.
package grafana

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	gf "github.com/canopyhq/canopy/test/tools/grafana"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

// suite is what every test shares.
type suite struct {
	env     *framework.Env
	grafana *gf.Server
	prom    *prometheus.Server
	writes  *writeCounter
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
	if _, _, err := gf.Paths(); err != nil {
		return 0, err
	}
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

	// Grafana, and a counting proxy in front of it for the manager.
	g, stopGrafana, err := gf.Start(ctx, gf.Options{})
	if err != nil {
		return 0, err
	}
	defer stopGrafana()
	s.grafana = g
	for login, pw := range users {
		if _, err := g.CreateUser(ctx, login, login+"@example.com", pw); err != nil {
			return 0, err
		}
	}
	counter, err := startWriteCounter(g.URL)
	if err != nil {
		return 0, err
	}
	defer counter.close()
	s.writes = counter

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
		GrafanaURL:            counter.url,
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
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "grafana log (tail):\n%s\n", g.Log())
	}
	return code, nil
}

// writeCounter is a reverse proxy in front of Grafana that counts the
// manager's requests: every method but GET and HEAD is a write.
type writeCounter struct {
	url string
	srv *http.Server

	mu     sync.Mutex
	writes []string
	reads  map[string]int
}

func startWriteCounter(target string) (*writeCounter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	wc := &writeCounter{url: "http://" + ln.Addr().String(), reads: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	wc.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wc.mu.Lock()
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			wc.reads[r.URL.Path]++
		} else {
			wc.writes = append(wc.writes, r.Method+" "+r.URL.Path)
		}
		wc.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = wc.srv.Serve(ln) }()
	return wc, nil
}

func (wc *writeCounter) close() { _ = wc.srv.Close() }

// reset forgets what was counted.
func (wc *writeCounter) reset() {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.writes, wc.reads = nil, map[string]int{}
}

// snapshot returns the writes and the number of reads of a path.
func (wc *writeCounter) snapshot(path string) ([]string, int) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	return append([]string(nil), wc.writes...), wc.reads[path]
}

// syncsOf counts the syncs of a tenant seen since the last reset: each
// begins by reading its organization by name.
func (wc *writeCounter) syncsOf(tenant string) int {
	_, n := wc.snapshot("/api/orgs/name/" + tenant)
	return n
}

func (wc *writeCounter) writesMatching(substr string) []string {
	all, _ := wc.snapshot("")
	var out []string
	for _, w := range all {
		if strings.Contains(w, substr) {
			out = append(out, w)
		}
	}
	return out
}
