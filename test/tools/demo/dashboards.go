package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/internal/promproxy"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

// dashboards is the demo's Prometheus, scraping the manager's metrics,
// and the manager's tenant Prometheus proxy in front of it: what each
// tenant's Grafana datasource reads. No Grafana runs here (its server is
// under the AGPL): the demo writes each tenant's dashboards and datasource
// as JSON, ready to import into a Grafana of your own.
type dashboards struct {
	client   client.Client
	proxyURL string
	keyFile  string
	flags    []string
	stops    []func()
}

// startDashboards starts Prometheus and returns the manager flags for
// its metrics and the tenant proxy.
func startDashboards(ctx context.Context, cfg *rest.Config, dir string, log io.Writer) (*dashboards, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, tenancyv1.AddToScheme, hncv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
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
	d.proxyURL = "http://" + proxyAddr

	fmt.Println("Starting Prometheus ...")
	promDir, err := os.MkdirTemp("", "canopy-demo-prometheus-*")
	if err != nil {
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

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	d.keyFile = filepath.Join(dir, "tenant-prometheus-proxy.key")
	if err := os.WriteFile(d.keyFile, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		d.stop()
		return nil, err
	}
	d.flags = []string{
		"--metrics-bind-address=" + metricsAddr,
		"--tenant-prometheus-proxy-addr=" + proxyAddr,
		"--prometheus-url=" + prom.URL,
		"--tenant-prometheus-proxy-key-file=" + d.keyFile,
		// The demo's cost history is backfilled, older than its namespaces.
		"--tenant-prometheus-proxy-unbounded-history",
	}
	return d, nil
}

func (d *dashboards) stop() {
	for i := len(d.stops) - 1; i >= 0; i-- {
		d.stops[i]()
	}
	d.stops = nil
}

// subtrees maps every tree root to its namespaces, from the tree labels
// Canopy writes ("<root>.tree.hnc.x-k8s.io/depth").
func (d *dashboards) subtrees(ctx context.Context) (func(root string) []string, error) {
	var nss corev1.NamespaceList
	if err := d.client.List(ctx, &nss); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	trees := map[string][]string{}
	for _, ns := range nss.Items {
		for k := range ns.Labels {
			if root, ok := cutSuffix(k, hncv1.LabelTreeDepthSuffix); ok {
				trees[root] = append(trees[root], ns.Name)
			}
		}
	}
	for _, v := range trees {
		sort.Strings(v)
	}
	return func(root string) []string { return trees[root] }, nil
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return "", false
}

// tenantStates builds every Tenant's Grafana state as the manager would:
// its teams, their namespaces and its datasource behind the proxy.
func (d *dashboards) tenantStates(ctx context.Context) ([]grafana.TenantState, error) {
	var list tenancyv1.TenantList
	if err := d.client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing Tenants: %w", err)
	}
	subtree, err := d.subtrees(ctx)
	if err != nil {
		return nil, err
	}
	key, err := promproxy.ReadKeyFile(d.keyFile)
	if err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var out []grafana.TenantState
	for i := range list.Items {
		t := &list.Items[i]
		st := grafana.FromTenant(t, subtree, d.proxyURL+"/tenants/"+t.Name)
		st.DatasourceToken = promproxy.Token(key, t.Name, t.UID)
		out = append(out, st)
	}
	return out, nil
}

// exportDashboards writes, per tenant, the datasource and every team's
// dashboards under dir/<tenant>/, and prints where they are and how to
// import them.
func (d *dashboards) exportDashboards(ctx context.Context, dir string) ([]grafana.TenantState, error) {
	states, err := d.tenantStates(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Printf("\nDashboards: %s\n", dir)
	for _, st := range states {
		tdir := filepath.Join(dir, st.Tenant)
		if err := os.MkdirAll(tdir, 0o755); err != nil {
			return nil, err
		}
		ds := map[string]any{
			"uid": grafana.DatasourceUID(st.Tenant), "name": "Prometheus (" + st.Tenant + ")", "type": "prometheus",
			"url": st.DatasourceURL, "access": "proxy",
			"jsonData":       map[string]any{"httpMethod": "POST", "httpHeaderName1": "Authorization"},
			"secureJsonData": map[string]string{"httpHeaderValue1": "Bearer " + st.DatasourceToken},
		}
		if err := writeJSON(filepath.Join(tdir, "datasource.json"), ds); err != nil {
			return nil, err
		}
		var files []string
		for _, team := range st.Teams {
			models, err := grafana.TeamDashboards(st, team)
			if err != nil {
				return nil, err
			}
			for name, m := range models {
				file := team.Name + "-" + name + ".json"
				if err := writeJSON(filepath.Join(tdir, file), m); err != nil {
					return nil, err
				}
				files = append(files, file)
			}
		}
		sort.Strings(files)
		fmt.Printf("  tenant %s: %s/ (datasource.json and %d dashboards, one workloads, quota and cost dashboard per team)\n",
			st.Tenant, tdir, len(files))
	}
	fmt.Println("Import them into your own Grafana (10.0 or newer): first the tenant's datasource,\n" +
		"  curl -u admin:PASSWORD -H 'Content-Type: application/json' -d @datasource.json http://GRAFANA/api/datasources\n" +
		"then each dashboard (Dashboards > New > Import > Upload dashboard JSON file), or point the manager at\n" +
		"your Grafana with --grafana-url to have it provision an organization, folders and teams per tenant.")
	return states, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
