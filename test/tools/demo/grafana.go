package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	gf "github.com/canopyhq/canopy/test/tools/grafana"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

// Demo credentials: the demo binds to 127.0.0.1 only.
const (
	grafanaAdminPassword = "canopy-demo"
	grafanaUserPassword  = "demo"
)

// grafanaUsers are the Grafana users the sample Tenants name (as team
// members and viewers, or as owners), created so their teams have members.
var grafanaUsers = map[string]string{"alice": "alice@example.com", "bob": "bob@example.com", "carol": "carol@example.com"}

// dashboards is the demo's Grafana, the Prometheus its tenant datasources
// read through the manager's tenant proxy, and the manager flags wiring
// them together.
type dashboards struct {
	grafana *gf.Server
	flags   []string
	stops   []func()
	client  client.Client
}

// startDashboards starts Grafana and Prometheus (scraping the manager's
// metrics) and stores Grafana's credentials for the manager.
func startDashboards(ctx context.Context, cfg *rest.Config, dir string, log io.Writer) (*dashboards, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := tenancyv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	d := &dashboards{client: c}
	ports := make([]int, 2)
	for i := range ports {
		if ports[i], err = controlplane.FreePort(); err != nil {
			return nil, err
		}
	}
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	proxyAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))

	fmt.Println("Starting Grafana 10 and Prometheus ...")
	g, stopGrafana, err := gf.Start(ctx, gf.Options{AdminPassword: grafanaAdminPassword, Output: log})
	if err != nil {
		return nil, fmt.Errorf("starting Grafana (run `make grafana-bin`): %w", err)
	}
	d.grafana = g
	d.stops = append(d.stops, stopGrafana)
	promDir, err := os.MkdirTemp("", "canopy-demo-prometheus-*")
	if err != nil {
		d.stop()
		return nil, err
	}
	d.stops = append(d.stops, func() { _ = os.RemoveAll(promDir) })
	prom, stopProm, err := prometheus.Start(ctx, prometheus.Options{
		DataDir: promDir, ScrapeTargets: []string{metricsAddr}, JobNames: []string{"canopy-manager"}, Output: log,
	})
	if err != nil {
		d.stop()
		return nil, fmt.Errorf("starting Prometheus (apt-get install prometheus): %w", err)
	}
	d.stops = append(d.stops, stopProm)

	for _, login := range sortedNames(grafanaUsers) {
		if _, err := g.CreateUser(ctx, login, grafanaUsers[login], grafanaUserPassword); err != nil {
			d.stop()
			return nil, err
		}
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "canopy-system", Name: "grafana"},
		StringData: map[string]string{"username": g.AdminUser, "password": g.AdminPassword},
	}
	if err := c.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
		d.stop()
		return nil, fmt.Errorf("storing Grafana's credentials: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keyFile := filepath.Join(dir, "tenant-prometheus-proxy.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		d.stop()
		return nil, err
	}
	d.flags = []string{
		"--metrics-bind-address=" + metricsAddr,
		"--grafana-url=" + g.URL,
		"--grafana-credentials-secret=canopy-system/grafana",
		"--dashboard-resync=1m",
		"--tenant-prometheus-proxy-addr=" + proxyAddr,
		"--prometheus-url=" + prom.URL,
		"--tenant-prometheus-proxy-key-file=" + keyFile,
		// The demo's cost history is backfilled, older than its namespaces.
		"--tenant-prometheus-proxy-unbounded-history",
		"--tenant-datasource-url-template=http://" + proxyAddr + "/tenants/{{tenant}}",
	}
	return d, nil
}

func (d *dashboards) stop() {
	for i := len(d.stops) - 1; i >= 0; i-- {
		d.stops[i]()
	}
	d.stops = nil
}

// printURLs waits until every Tenant has its dashboard URL and prints them.
func (d *dashboards) printURLs(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var urls map[string]string
	for {
		list := &tenancyv1.TenantList{}
		if err := d.client.List(ctx, list); err != nil {
			return fmt.Errorf("listing Tenants: %w", err)
		}
		urls = map[string]string{}
		for _, t := range list.Items {
			if t.Status.DashboardURL != "" {
				urls[t.Name] = t.Status.DashboardURL
			}
		}
		if len(urls) == len(list.Items) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the Tenants' dashboard URLs (%d of %d): %w", len(urls), len(list.Items), ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Printf("\nGrafana: %s (user admin, password %s; users %s sign in with password %q)\n",
		d.grafana.URL, grafanaAdminPassword, "alice, bob, carol", grafanaUserPassword)
	fmt.Println("Each tenant's dashboards (status.dashboardURL):")
	for _, name := range sortedNames(urls) {
		fmt.Printf("  tenant %s: %s\n", name, urls[name])
	}
	fmt.Printf("This Grafana is built from its Go module, without the compiled web UI: read it through the API, e.g.\n"+
		"  curl -u alice:%s -H 'X-Grafana-Org-Id: <orgId from the URL>' %s/api/search\n", grafanaUserPassword, d.grafana.URL)
	return nil
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
