// Package costapi checks the aggregated API cost.canopy.dev through the
// real kube-apiserver: the APIService routes to the manager on loopback
// (an ExternalName Service, which the aggregator resolves without
// endpoints), the API server authenticates real users with their own
// client certificates and proxies them with its front-proxy certificate,
// and the manager authorizes each with SubjectAccessReview. OpenCost is an
// HTTP stand-in.
package costapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/internal/kubectl"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const wait = 90 * time.Second

// window is two UTC days; the stand-in answers one step per day.
const window = "2026-10-01,2026-10-03"

// openCostStandIn answers /allocation with one step per day of the
// requested window: the same allocations each day.
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
		for _, s := range period.Steps(win, 24*time.Hour) {
			start, end := s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339)
			alloc := func(key string, cpu, ram float64) string {
				return fmt.Sprintf(`%q:{"name":%q,"properties":{"namespace":%q},"window":{"start":%q,"end":%q},"start":%q,"end":%q,`+
					`"cpuCoreHours":%g,"cpuCost":%g,"ramCost":%g,"totalCost":%g}`, key, key, key, start, end, start, end, cpu/0.5, cpu, ram, cpu+ram)
			}
			steps = append(steps, "{"+strings.Join([]string{
				alloc("ca-pay", 1.25, 0.5),
				alloc("ca-pay-api", 2.5, 1.005),
				alloc("ca-search", 4, 0),
				alloc(opencost.KeyIdle, 3, 1),
			}, ",")+"}")
		}
		fmt.Fprintf(w, `{"code":200,"data":[%s]}`, strings.Join(steps, ","))
	}))
}

// costOpts are the manager's options with the cost API on.
var costOpts setup.Options

// exportSince is the first of the last three closed days.
func exportSince() time.Time {
	return period.DayOf(time.Now().Add(-period.DefaultGrace)).Start.AddDate(0, 0, -3)
}

// startCostAPI starts the manager with the cost API on a free loopback port,
// registers the APIService and creates the tenants; it returns the
// stand-in's URL.
func startCostAPI(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	oc := openCostStandIn()
	t.Cleanup(oc.Close)
	port, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	opts := env.Options
	opts.Cost.OpenCostURL = oc.URL
	opts.Cost.Currency = "USD"
	opts.Cost.API.BindAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	costOpts = opts
	env.StopManager()
	if err := env.StartManager(opts); err != nil {
		t.Fatal(err)
	}
	admin := env.Admin(t)
	root := framework.RepoRoot()
	if err := controlplane.InstallFiles(ctx, admin, filepath.Join(root, "config", "rbac", "finance_role.yaml"),
		filepath.Join(root, "config", "costapi", "access_role.yaml")); err != nil {
		t.Fatal(err)
	}
	// As config/costapi registers it, but routed to the manager on
	// loopback, whose test certificate names no Service.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "canopy-cost-api", Namespace: env.Options.Forest.ManagerNamespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if err := admin.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	apiSvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1alpha1.cost.canopy.dev"},
		"spec": map[string]any{
			"group": costapi.Group, "version": costapi.Version,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"insecureSkipTLSVerify": true,
			"service":               map[string]any{"name": svc.Name, "namespace": svc.Namespace, "port": int64(port)},
		},
	}}
	if err := admin.Create(ctx, apiSvc); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		got := &unstructured.Unstructured{}
		got.SetAPIVersion("apiregistration.k8s.io/v1")
		got.SetKind("APIService")
		if err := admin.Get(ctx, client.ObjectKey{Name: "v1alpha1.cost.canopy.dev"}, got); err != nil {
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

	owner := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "ca-alice"}
	for _, tn := range []*tenancyv1.Tenant{
		{ObjectMeta: metav1.ObjectMeta{Name: "ca-pay"}, Spec: tenancyv1.TenantSpec{
			Owners: []rbacv1.Subject{owner}, CostCenter: "CC-PAY",
			Namespaces: []tenancyv1.TenantNamespace{{Name: "ca-pay-api"}},
			Teams:      []tenancyv1.Team{{Name: "api", Namespace: "ca-pay-api"}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ca-search"}, Spec: tenancyv1.TenantSpec{CostCenter: "CC-SEARCH"}},
	} {
		if err := admin.Create(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	finance := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ca-finance"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "canopy-finance"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "ca-finance"}},
	}
	if err := admin.Create(ctx, finance); err != nil {
		t.Fatal(err)
	}
	// The tree must be in the manager's forest before a roll-up
	// attributes ca-pay-api to team api.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		ns := &corev1.Namespace{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "ca-pay-api"}, ns); err != nil {
			return err
		}
		if ns.Labels["ca-pay.tree.hnc.x-k8s.io/depth"] != "1" {
			return fmt.Errorf("ca-pay-api not yet under ca-pay: labels %v", ns.Labels)
		}
		return nil
	})
	return oc.URL
}

// expectedCSV is the library's chargeback for tenant over window, computed
// here from the same OpenCost answer and the same tree.
func expectedCSV(t *testing.T, ocURL, tenant string) []byte {
	t.Helper()
	dir := cost.Directory{
		Tenants: map[string]cost.Tenant{
			"ca-pay":    {Name: "ca-pay", CostCenter: "CC-PAY", Teams: []cost.Team{{Name: "api", Root: "ca-pay-api"}}},
			"ca-search": {Name: "ca-search", CostCenter: "CC-SEARCH"},
		},
		Namespaces: map[string]cost.LiveNamespace{
			"ca-pay":     {Tenant: "ca-pay", Path: []string{"ca-pay"}},
			"ca-pay-api": {Tenant: "ca-pay", Path: []string{"ca-pay", "ca-pay-api"}},
			"ca-search":  {Tenant: "ca-search", Path: []string{"ca-search"}},
		},
	}
	oc, err := opencost.NewHTTPClient(ocURL)
	if err != nil {
		t.Fatal(err)
	}
	w, err := period.ParseWindow(window, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roller, err := cost.NewRoller(dir, cost.Options{Idle: cost.Separate, Shared: cost.Separate})
	if err != nil {
		t.Fatal(err)
	}
	totals := cost.NewNamespaceTotals(w)
	if _, err := oc.Allocations(context.Background(), w, func(s *opencost.Step) error {
		rep, err := roller.Step(s)
		if err != nil {
			return err
		}
		totals.Add(rep)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	all, err := totals.Report()
	if err != nil {
		t.Fatal(err)
	}
	mine := &cost.Report{Window: all.Window}
	for _, r := range all.Rows {
		if r.Attribution != nil && r.Attribution.Tenant == tenant {
			mine.Rows = append(mine.Rows, r)
		}
	}
	var buf bytes.Buffer
	cw := cost.NewNamespaceCSV(&buf, cost.CSVOptions{Currency: "USD", Precision: cost.PrecisionCents})
	if err := cw.WriteReport(mine); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// get reads path through the kube-apiserver as cfg's user.
func get(ctx context.Context, cfg *rest.Config, path string, params map[string]string) ([]byte, error) {
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
	// Error, unlike Raw, decodes a Status body into an *errors.StatusError.
	return body, res.Error()
}

func userConfig(t *testing.T, name string, groups ...string) *rest.Config {
	t.Helper()
	_, cfg, err := env.UserClient(name, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestChargebackThroughAPIServer(t *testing.T) {
	ocURL := startCostAPI(t)
	alice := userConfig(t, "ca-alice")
	bob := userConfig(t, "ca-bob", "ca-finance")
	mallory := userConfig(t, "ca-mallory")
	params := map[string]string{"window": window}

	// The owner reads their tenant's chargeback once the Tenant
	// controller has granted them get on it.
	var body []byte
	framework.Eventually(t, wait, func(ctx context.Context) error {
		var err error
		body, err = get(ctx, alice, costapi.ChargebackPath("ca-pay"), params)
		if err != nil {
			return fmt.Errorf("%w: %s", err, body)
		}
		return nil
	})
	want := expectedCSV(t, ocURL, "ca-pay")
	if !bytes.Equal(body, want) {
		t.Errorf("owner's CSV:\n%s\nwant the library's:\n%s", body, want)
	}
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	// Two days of ca-pay (1.75 a day) and ca-pay-api (3.505 a day).
	totalCol := len(cost.NamespaceHeader) - 4
	if len(records) != 3 || records[1][7] != "ca-pay" || records[1][totalCol] != "3.50" ||
		records[2][7] != "ca-pay-api" || records[2][6] != "ca-pay/ca-pay-api" || records[2][totalCol] != "7.01" {
		t.Errorf("records = %q", records)
	}

	ctx := context.Background()
	_, err = get(ctx, alice, costapi.ChargebackPath("ca-search"), params)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `tenants.tenancy.canopy.dev "ca-search" is forbidden: User "ca-alice" cannot get`) {
		t.Errorf("owner reading another tenant: %v, want 403 Forbidden", err)
	}
	_, err = get(ctx, mallory, costapi.ChargebackPath("ca-pay"), params)
	if !apierrors.IsForbidden(err) {
		t.Errorf("unbound user: %v, want 403 Forbidden", err)
	}
	anonymous := rest.AnonymousClientConfig(alice)
	if _, err = get(ctx, anonymous, costapi.ChargebackPath("ca-pay"), params); !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err) {
		t.Errorf("anonymous: %v, want 401 or 403", err)
	}

	// Finance reads every tenant, here as a per-team summary in JSON.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		for _, tn := range []string{"ca-pay", "ca-search"} {
			b, err := get(ctx, bob, costapi.ChargebackPath(tn), map[string]string{"window": window, "format": "json", "summary": "true"})
			if err != nil {
				return err
			}
			if !bytes.Contains(b, []byte(`"tenant": "`+tn+`"`)) || !bytes.Contains(b, []byte(`"kind": "Chargeback"`)) {
				return fmt.Errorf("finance's summary of %s: %s", tn, b)
			}
		}
		return nil
	})

	_, err = get(ctx, alice, costapi.ChargebackPath("ca-pay"), map[string]string{"window": "lastweek"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "lastmonth") || !strings.Contains(err.Error(), "mtd") {
		t.Errorf("bad window: %v, want 400 naming the accepted forms", err)
	}
	_, err = get(ctx, bob, costapi.ChargebackPath("ca-nope"), params)
	if !apierrors.IsNotFound(err) {
		t.Errorf("unknown tenant: %v, want 404", err)
	}

	// The list holds only what the caller may get.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		for _, u := range []struct {
			name string
			cfg  *rest.Config
			want string
		}{{"ca-alice", alice, "[ca-pay]"}, {"ca-bob", bob, "[ca-pay ca-search]"}, {"ca-mallory", mallory, "[]"}} {
			b, err := get(ctx, u.cfg, costapi.PathTenants, nil)
			if err != nil {
				return err
			}
			if got := listedCanopy(b); got != u.want {
				return fmt.Errorf("%s lists %s, want %s", u.name, got, u.want)
			}
		}
		return nil
	})

	// The plugin reads through the same API with the user's credentials.
	api, err := kubectl.NewRESTCostAPI(alice)
	if err != nil {
		t.Fatal(err)
	}
	var plugin bytes.Buffer
	if err := kubectl.Cost(ctx, api, &plugin, kubectl.CostOptions{Window: window, Output: kubectl.CostCSV}); err != nil {
		t.Fatalf("kubectl canopy cost: %v", err)
	}
	if !bytes.Equal(plugin.Bytes(), want) {
		t.Errorf("kubectl canopy cost -o csv (all tenants alice may see) printed:\n%s\nwant:\n%s", plugin.Bytes(), want)
	}

	// The API's low group priority keeps `kubectl get tenants` meaning
	// tenants.tenancy.canopy.dev.
	kubectlBin := filepath.Join(env.CP.BinDir, "kubectl")
	out, err := exec.Command(kubectlBin, "--kubeconfig", writeKubeconfig(t, bob), "get", "tenants", "-o", "name").Output()
	if err != nil || !strings.Contains(string(out), "tenant.tenancy.canopy.dev/ca-pay") {
		t.Errorf("kubectl get tenants: %v: %s", err, out)
	}

	// kubectl get --raw, with the owner's kubeconfig.
	kc := writeKubeconfig(t, alice)
	out, err = exec.Command(kubectlBin, "--kubeconfig", kc, "get", "--raw",
		costapi.ChargebackPath("ca-pay")+"?window="+window).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("kubectl get --raw: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("kubectl get --raw printed:\n%s\nwant:\n%s", out, want)
	}

	t.Run("scheduled export", checkScheduledExport)
}

// checkScheduledExport restarts the manager, the tenants in place, with
// the scheduled export on, and checks the files it writes.
func checkScheduledExport(t *testing.T) {
	exportDir := t.TempDir()
	since := exportSince()
	opts := costOpts
	opts.Cost.Export = setup.CostExportOptions{Dir: exportDir, Period: "day", Grace: period.DefaultGrace, Since: since.Format(time.DateOnly)}
	env.StopManager()
	if err := env.StartManager(opts); err != nil {
		t.Fatal(err)
	}
	// The three days before today (less the grace) are closed.
	var want []string
	for d := since; len(want) < 3; d = d.AddDate(0, 0, 1) {
		want = append(want, "chargeback-daily-"+d.Format(time.DateOnly)+".csv")
	}
	framework.Eventually(t, wait, func(context.Context) error {
		for _, name := range want {
			b, err := os.ReadFile(filepath.Join(exportDir, name))
			if err != nil {
				return err
			}
			// Both tenants and OpenCost's idle line, one day each.
			if !bytes.Contains(b, []byte(",tenant,ca-pay,CC-PAY,api,ca-pay/ca-pay-api,ca-pay-api,")) || !bytes.Contains(b, []byte(",idle,")) {
				return fmt.Errorf("%s:\n%s", name, b)
			}
		}
		entries, err := os.ReadDir(exportDir)
		if err != nil {
			return err
		}
		// A fourth day closes if the test runs across 06:00 UTC.
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "chargeback-daily-") || e.Name() < want[0] {
				return fmt.Errorf("unexpected file %s in the export directory, want %v", e.Name(), want)
			}
		}
		return nil
	})
}

// listedCanopy returns the names in a TenantList that start with ca-.
func listedCanopy(b []byte) string {
	var names []string
	for _, part := range strings.Split(string(b), `"name":"`)[1:] {
		if n, _, ok := strings.Cut(part, `"`); ok && strings.HasPrefix(n, "ca-") {
			names = append(names, n)
		}
	}
	return "[" + strings.Join(names, " ") + "]"
}

func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(path, 0o600)
	return path
}
