package escalation

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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

	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/internal/promproxy"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
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

// promStandIn is Prometheus: it records every request that reaches it and
// answers the rules and alerts endpoints with one entry per tenant
// namespace, so a response filter that misses a path shows esb's.
type promStandIn struct {
	mu   sync.Mutex
	reqs []url.Values
	srv  *httptest.Server
}

func newPromStandIn() *promStandIn {
	p := &promStandIn{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		p.mu.Lock()
		form := url.Values{"_path": {r.URL.Path}}
		for k, v := range r.Form {
			form[k] = v
		}
		p.reqs = append(p.reqs, form)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch strings.TrimSuffix(r.URL.Path, "/") {
		case "/api/v1/rules":
			var rules []string
			for _, ns := range []string{nsAPI, nsBWeb} {
				rules = append(rules, fmt.Sprintf(`{"name":"rule_%s","query":"up","labels":{"namespace":%q},"health":"ok","type":"recording"}`, strings.ReplaceAll(ns, "-", "_"), ns))
			}
			fmt.Fprintf(w, `{"status":"success","data":{"groups":[{"name":"g","file":"f","interval":30,"rules":[%s]}]}}`, strings.Join(rules, ","))
		case "/api/v1/alerts":
			var alerts []string
			for _, ns := range []string{nsAPI, nsBWeb} {
				alerts = append(alerts, fmt.Sprintf(`{"labels":{"alertname":"A","namespace":%q},"annotations":{},"state":"firing","activeAt":"2026-01-01T00:00:00Z","value":"1"}`, ns))
			}
			fmt.Fprintf(w, `{"status":"success","data":{"alerts":[%s]}}`, strings.Join(alerts, ","))
		default:
			_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		}
	}))
	return p
}

// last returns the last request that reached Prometheus, if any, and
// forgets every recorded one.
func (p *promStandIn) last() url.Values {
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
	f.prom = newPromStandIn()
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
	f.promToken = promproxy.Token(promKey, tenantA)
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
