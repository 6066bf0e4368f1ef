package cost

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// startManagerWithCost restarts the manager as --opencost-url=oc with
// monitoring shared, serving cost.canopy.dev on loopback, and registers
// that aggregated API with the kube-apiserver.
func startManagerWithCost(ctx context.Context, t *testing.T, env *framework.Env, oc string) {
	t.Helper()
	port, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	opts := env.Options
	opts.Cost.OpenCostURL = oc
	opts.Cost.Currency = "USD"
	opts.Cost.SharedNamespaces = []string{sharedNamespace}
	opts.Cost.API.BindAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	env.StopManager()
	if err := env.StartManager(opts); err != nil {
		t.Fatalf("restarting the manager with --opencost-url: %v", err)
	}
	root := framework.RepoRoot()
	if err := controlplane.InstallFiles(ctx, env.Client, filepath.Join(root, "config", "rbac", "finance_role.yaml"),
		filepath.Join(root, "config", "costapi", "access_role.yaml")); err != nil {
		t.Fatal(err)
	}
	registerCostAPI(ctx, t, env.Client, env.Options.Forest.ManagerNamespace, port)
}

// registerCostAPI registers cost.canopy.dev with c's kube-apiserver as
// config/costapi does, but routed to a manager serving it on loopback
// port, whose test certificate names no Service, and waits until it is
// available.
func registerCostAPI(ctx context.Context, t *testing.T, c client.Client, namespace string, port int) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "canopy-cost-api", Namespace: namespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	apiSvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": costapi.Version + "." + costapi.Group},
		"spec": map[string]any{
			"group": costapi.Group, "version": costapi.Version,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"insecureSkipTLSVerify": true,
			"service":               map[string]any{"name": svc.Name, "namespace": svc.Namespace, "port": int64(port)},
		},
	}}
	if err := c.Create(ctx, apiSvc); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, time.Minute, func(ctx context.Context) error {
		got := &unstructured.Unstructured{}
		got.SetAPIVersion("apiregistration.k8s.io/v1")
		got.SetKind("APIService")
		if err := c.Get(ctx, client.ObjectKey{Name: costapi.Version + "." + costapi.Group}, got); err != nil {
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

// checkChargebackAPI reads one day's chargeback through the kube-apiserver
// as real users, directly and with kubectl canopy cost: payments' owner
// gets payments' namespaces (idle and shared cost kept separate, as the
// manager is configured), exactly, and is denied search's.
func checkChargebackAPI(t *testing.T, env *framework.Env, day period.Window) {
	_, pat, err := env.UserClient("pat")
	if err != nil {
		t.Fatal(err)
	}
	window := day.Start.Format(time.RFC3339) + "," + day.End.Format(time.RFC3339)
	var body []byte
	framework.Eventually(t, time.Minute, func(ctx context.Context) error {
		body, err = apiGet(ctx, pat, costapi.ChargebackPath("payments"), window)
		if err != nil {
			return fmt.Errorf("%w: %s", err, body)
		}
		return nil
	})
	p := day.Start.UTC().Format(time.RFC3339) + "," + day.End.UTC().Format(time.RFC3339) + ","
	want := "period_start,period_end,line,tenant,cost_center,team,team_path,namespace,path," +
		"cpu_cost,ram_cost,gpu_cost,pv_cost,network_cost,load_balancer_cost,external_cost,shared_cost,idle_cost,total_cost,currency,cpu_core_hours,ram_gib_hours\n" +
		p + "tenant,payments,CC-1042,api,payments/payments-api,payments-api,payments/payments-api," +
		"6.00,6.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,12.00,USD,24.000000,48.000000\n" +
		p + "tenant,payments,CC-1042,api,payments/payments-api,payments-api-staging,payments/payments-api/payments-api-staging," +
		"3.00,3.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,6.00,USD,12.000000,24.000000\n" +
		p + "tenant,payments,CC-1042,payments,payments,payments-batch,payments/payments-batch," +
		"6.00,12.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,18.00,USD,24.000000,96.000000\n"
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(string(body), "\n")); diff != "" {
		t.Errorf("payments' chargeback as its owner (-want +got):\n%s", diff)
	}
	checkKubectlCost(t, pat, window, want)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	body, err = apiGet(ctx, pat, costapi.ChargebackPath("search"), window)
	if !apierrors.IsForbidden(err) {
		t.Errorf("payments' owner reading search's chargeback: got %v (%s), want Forbidden", err, body)
	}
}

// apiGet reads path through the kube-apiserver as cfg's user.
func apiGet(ctx context.Context, cfg *rest.Config, path, window string) ([]byte, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	res := cs.CoreV1().RESTClient().Get().AbsPath(path).Param("window", window).Do(ctx)
	body, _ := res.Raw()
	return body, res.Error()
}

// checkKubectlCost runs the real plugin (bin/kubectl-canopy, built by make
// build) as payments' owner: `cost` lists only the tenants they may see, so
// it prints payments' chargeback alone, and asking for search fails.
func checkKubectlCost(t *testing.T, cfg *rest.Config, window, want string) {
	t.Helper()
	plugin := filepath.Join(framework.RepoRoot(), "bin", "kubectl-canopy")
	if _, err := os.Stat(plugin); err != nil {
		t.Fatalf("bin/kubectl-canopy missing: run `make build` (make test does): %v", err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "pat.kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["pat"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "pat"}
	kc.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, error) {
		var stdout, stderr strings.Builder
		cmd := exec.Command(plugin, append(args, "--kubeconfig", kubeconfig)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	out, errOut, err := run("cost", "--window", window, "-o", "csv")
	if err != nil {
		t.Fatalf("kubectl canopy cost as payments' owner: %v\n%s", err, errOut)
	}
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(out, "\n")); diff != "" {
		t.Errorf("kubectl canopy cost -o csv as payments' owner (-want +got):\n%s", diff)
	}
	if out, errOut, err := run("cost", "search", "--window", window, "-o", "csv"); err == nil || out != "" {
		t.Errorf("kubectl canopy cost search as payments' owner: err %v, printed %q; want a failure and nothing printed", err, out)
	} else if !strings.Contains(strings.ToLower(errOut), "forbidden") {
		t.Errorf("kubectl canopy cost search as payments' owner: stderr %q, want it to say forbidden", errOut)
	}
}
