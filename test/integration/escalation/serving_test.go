package escalation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dashboardctrl "github.com/canopyhq/canopy/internal/controller/dashboard"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

// promKey is the tenant proxy's token key in this test.
var promKey = []byte("escalation-matrix-proxy-key-32bytes!")

// openCostStandIn answers /allocation with one allocation per tenant
// namespace for each day asked.
func openCostStandIn() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/allocation" {
			http.NotFound(w, r)
			return
		}
		win, err := period.ParseWindow(r.URL.Query().Get("window"), time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var steps []string
		for _, st := range period.Steps(win, 24*time.Hour) {
			start, end := st.Start.Format(time.RFC3339), st.End.Format(time.RFC3339)
			var allocs []string
			for _, ns := range []string{tenantA, nsAPI, tenantB, nsBWeb} {
				allocs = append(allocs, fmt.Sprintf(`%q:{"name":%q,"properties":{"namespace":%q},"window":{"start":%q,"end":%q},"start":%q,"end":%q,"cpuCoreHours":2,"cpuCost":1,"ramCost":1,"totalCost":2}`,
					ns, ns, ns, start, end, start, end))
			}
			steps = append(steps, "{"+strings.Join(allocs, ",")+"}")
		}
		fmt.Fprintf(w, `{"code":200,"data":[%s]}`, strings.Join(steps, ","))
	}))
}

// startPrometheus runs Debian's real Prometheus scraping, every second,
// one series per tenant namespace (escalation_up{namespace=...}, from a
// loopback /metrics with honor_labels), with a rule file holding a
// recording rule and an always-firing alert per namespace, so esb's
// series, rules and alerts are really there for esa to try to read. The
// samples are scraped live, after the namespaces exist: the proxy may read
// a namespace's series only from its creation on. stop ends it and removes
// its data.
func startPrometheus(ctx context.Context) (url string, stop func(), err error) {
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		b := "# TYPE escalation_up gauge\n"
		for _, ns := range []string{nsAPI, nsBWeb} {
			b += fmt.Sprintf("escalation_up{namespace=%q} 1\n", ns)
		}
		_, _ = io.WriteString(w, b)
	}))
	dir, err := os.MkdirTemp("", "canopy-escalation-prometheus-")
	if err != nil {
		metrics.Close()
		return "", nil, err
	}
	cleanup := func() { metrics.Close(); _ = os.RemoveAll(dir) }
	var rules strings.Builder
	rules.WriteString("groups:\n- name: escalation\n  interval: 1s\n  rules:\n")
	for _, ns := range []string{nsAPI, nsBWeb} {
		fmt.Fprintf(&rules, "  - record: escalation:vector\n    expr: vector(1)\n    labels: {namespace: %q}\n", ns)
		fmt.Fprintf(&rules, "  - alert: EscalationAlert\n    expr: vector(1)\n    labels: {namespace: %q}\n", ns)
	}
	rulesPath := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesPath, []byte(rules.String()), 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [%q]\n"+
		"scrape_configs:\n  - job_name: escalation\n    honor_labels: true\n    static_configs:\n      - targets: [%q]\n",
		rulesPath, strings.TrimPrefix(metrics.URL, "http://"))
	srv, stopProm, err := prometheus.Start(ctx, prometheus.Options{DataDir: dir, ConfigYAML: cfg})
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return srv.URL, func() { stopProm(); cleanup() }, nil
}

// promFront stands in front of Prometheus and records every request that
// reaches it, as the proxy forwarded it. Prometheus itself redirects the
// trailing-slash paths /api/v1/rules/ and /api/v1/alerts/; other backends
// (Thanos, Mimir) serve them, and the front answers them as such a backend
// would, with every tenant's entries, from Prometheus's own answer.
type promFront struct {
	mu   sync.Mutex
	reqs []url.Values
	srv  *httptest.Server
}

func newPromFront(upstream string) (*promFront, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }}
	p := &promFront{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form := url.Values{"_path": {r.URL.Path}}
		for k, v := range r.URL.Query() {
			form[k] = v
		}
		if r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
			if vals, err := url.ParseQuery(string(body)); err == nil {
				for k, v := range vals {
					form[k] = append(form[k], v...)
				}
			}
		}
		p.mu.Lock()
		p.reqs = append(p.reqs, form)
		p.mu.Unlock()
		if r.URL.Path == "/api/v1/rules/" || r.URL.Path == "/api/v1/alerts/" {
			r.URL.Path = strings.TrimSuffix(r.URL.Path, "/")
			r.URL.RawPath = ""
		}
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

// last returns the last request that reached Prometheus, if any, and
// forgets every recorded one.
func (p *promFront) last() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.reqs) == 0 {
		return nil
	}
	l := p.reqs[len(p.reqs)-1]
	p.reqs = nil
	return l
}

// startServing restarts the manager with the cost API and the tenant
// Prometheus proxy, and registers the cost API's APIService as
// config/costapi does, routed to the manager on loopback.
func startServing(ctx context.Context, f *fixtureT) error {
	oc := openCostStandIn()
	f.costURL = oc.URL
	var err error
	if f.prom, err = newPromFront(realPrometheus); err != nil {
		return err
	}
	costPort, err := controlplane.FreePort()
	if err != nil {
		return err
	}
	promPort, err := controlplane.FreePort()
	if err != nil {
		return err
	}
	opts := env.Options
	opts.Cost.OpenCostURL = oc.URL
	opts.Cost.Currency = "USD"
	opts.Cost.API.BindAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(costPort))
	opts.PromProxy.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(promPort))
	opts.PromProxy.PrometheusURL = f.prom.srv.URL
	opts.PromProxy.Key = promKey
	f.promURL = "http://" + opts.PromProxy.Addr
	// The dashboard controller, on the Grafana API double, hands each
	// tenant's Grafana datasource its proxy token: that is how a lead
	// gets one.
	g, err := grafanaapi.Start(grafanaapi.Options{AdminUser: "admin", AdminPassword: "escalation-pw"})
	if err != nil {
		return err
	}
	f.grafana = g
	mgrNS := env.Options.Forest.ManagerNamespace
	if err := f.admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: mgrNS, Name: "grafana"},
		StringData: map[string]string{dashboardctrl.SecretKeyUsername: g.AdminUser, dashboardctrl.SecretKeyPassword: g.AdminPassword}}); err != nil {
		return err
	}
	opts.Dashboard.GrafanaURL = g.URL
	opts.Dashboard.CredentialsSecret = mgrNS + "/grafana"
	env.StopManager()
	if err := env.StartManager(opts); err != nil {
		return err
	}
	root := framework.RepoRoot()
	if err := controlplane.InstallFiles(ctx, f.admin, filepath.Join(root, "config", "costapi", "access_role.yaml")); err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "canopy-cost-api", Namespace: env.Options.Forest.ManagerNamespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if err := f.admin.Create(ctx, svc); err != nil {
		return err
	}
	apiSvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1alpha1.cost.canopy.dev"},
		"spec": map[string]any{
			"group": costapi.Group, "version": costapi.Version,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"insecureSkipTLSVerify": true,
			"service":               map[string]any{"name": svc.Name, "namespace": svc.Namespace, "port": int64(costPort)},
		},
	}}
	if err := f.admin.Create(ctx, apiSvc); err != nil {
		return err
	}
	return poll(ctx, func(ctx context.Context) error {
		got := &unstructured.Unstructured{}
		got.SetAPIVersion("apiregistration.k8s.io/v1")
		got.SetKind("APIService")
		if err := f.admin.Get(ctx, client.ObjectKey{Name: "v1alpha1.cost.canopy.dev"}, got); err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Available" && m["status"] == "True" {
				return nil
			}
		}
		return fmt.Errorf("APIService not available: %v", conds)
	})
}

// datasourceToken waits for the bearer token the dashboard controller
// gave tenant's Grafana datasource.
func datasourceToken(ctx context.Context, g *grafanaapi.Server, tenant string) (string, error) {
	var token string
	err := poll(ctx, func(context.Context) error {
		g.View(func(st *grafanaapi.State) {
			if o := st.OrgByName(tenant); o != nil {
				if ds := o.Datasources[grafana.DatasourceUID(tenant)]; ds != nil {
					token = strings.TrimPrefix(ds.SecureJSONData["httpHeaderValue1"], "Bearer ")
				}
			}
		})
		if token == "" {
			return fmt.Errorf("tenant %s's Grafana datasource has no proxy token yet", tenant)
		}
		return nil
	})
	return token, err
}

// costGet reads path of the aggregated cost API through the kube-apiserver
// as cfg's user.
func costGet(ctx context.Context, cfg *rest.Config, path string, params map[string]string) ([]byte, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	req := cs.CoreV1().RESTClient().Get().AbsPath(path)
	for k, v := range params {
		req = req.Param(k, v)
	}
	res := req.Do(ctx)
	body, _ := res.Raw()
	return body, res.Error()
}

// promGet asks the tenant Prometheus proxy for path with token.
func promGet(ctx context.Context, f *fixtureT, path, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.promURL+path, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
