package isolationdata

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kwait "k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// slowWindow is the window the OpenCost stand-in holds until released.
const slowWindow = "2026-01-01,2026-01-02"

// openCost is an OpenCost stand-in: one empty step per day of the window
// asked for. Requests for slowWindow wait on gate; windows longer than any
// real chargeback needs fail, as a real OpenCost would after building
// millions of steps.
type openCost struct {
	srv     *httptest.Server
	held    atomic.Int32
	gate    chan struct{}
	gateMu  sync.Mutex
	maxDays int
}

func newOpenCost() *openCost {
	oc := &openCost{gate: make(chan struct{}), maxDays: 10 * costapi.MaxWindowDays}
	oc.srv = httptest.NewServer(http.HandlerFunc(oc.serve))
	return oc
}

func (oc *openCost) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/allocation" {
		http.NotFound(w, r)
		return
	}
	win, err := period.ParseWindow(r.URL.Query().Get("window"), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	days := int(win.Duration() / (24 * time.Hour))
	if days > oc.maxDays {
		http.Error(w, fmt.Sprintf("window of %d days refused by the stand-in", days), http.StatusBadRequest)
		return
	}
	slow, _ := period.ParseWindow(slowWindow, time.Now())
	if win == slow {
		oc.held.Add(1)
		oc.gateMu.Lock()
		gate := oc.gate
		oc.gateMu.Unlock()
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		oc.held.Add(-1)
	}
	steps := make([]string, 0, days)
	for _, s := range period.Steps(win, 24*time.Hour) {
		steps = append(steps, fmt.Sprintf(`{"cc-pay":{"name":"cc-pay","properties":{"namespace":"cc-pay"},"window":{"start":%q,"end":%q},"start":%q,"end":%q,"cpuCost":1,"totalCost":1}}`,
			s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339)))
	}
	fmt.Fprintf(w, `{"code":200,"data":[%s]}`, strings.Join(steps, ","))
}

// release lets every held request go, and later ones pass at once.
func (oc *openCost) release() {
	oc.gateMu.Lock()
	defer oc.gateMu.Unlock()
	select {
	case <-oc.gate:
	default:
		close(oc.gate)
	}
}

var (
	costOnce sync.Once
	theCost  *openCost
	costErr  error
)

// costAPI restarts the manager with the cost API on (through the real
// aggregator) once per package run, with limits of 2 per user and 3 in
// total, and creates tenant cc-pay owned by group cc-leads.
func costAPI(t *testing.T) *openCost {
	t.Helper()
	adm := admin(t)
	costOnce.Do(func() { theCost, costErr = startCost(adm) })
	if costErr != nil {
		t.Fatal(costErr)
	}
	return theCost
}

func startCost(adm client.Client) (*openCost, error) {
	ctx := context.Background()
	oc := newOpenCost()
	stopAtExit = append(stopAtExit, func() { oc.release(); oc.srv.Close() })
	addr, err := freeAddrErr()
	if err != nil {
		return nil, err
	}
	_, portStr, _ := strings.Cut(addr, ":")
	port, _ := strconv.Atoi(portStr)
	opts := managerOptions()
	opts.Cost.OpenCostURL = oc.srv.URL
	opts.Cost.Currency = "USD"
	opts.Cost.API.BindAddress = addr
	opts.Cost.API.MaxConcurrent = 3
	opts.Cost.API.MaxConcurrentPerUser = 2
	setManagerOptions(opts)
	if err := restartManager(); err != nil {
		return nil, err
	}
	root := framework.RepoRoot()
	if err := controlplane.InstallFiles(ctx, adm, filepath.Join(root, "config", "rbac", "finance_role.yaml"),
		filepath.Join(root, "config", "costapi", "access_role.yaml")); err != nil {
		return nil, err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "canopy-cost-api", Namespace: env.Options.Forest.ManagerNamespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if err := adm.Create(ctx, svc); err != nil {
		return nil, err
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
	if err := adm.Create(ctx, apiSvc); err != nil {
		return nil, err
	}
	finance := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cc-finance"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "canopy-finance"},
		Subjects:   []rbacv1.Subject{groupSubject("cc-finance")},
	}
	if err := adm.Create(ctx, finance); err != nil {
		return nil, err
	}
	tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "cc-pay"}, Spec: tenancyv1.TenantSpec{Owners: []rbacv1.Subject{groupSubject("cc-leads")}}}
	// The webhooks refuse until the forest loads.
	var last error
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := kwait.PollUntilContextCancel(pctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		last = client.IgnoreAlreadyExists(adm.Create(ctx, tn.DeepCopy()))
		return last == nil, nil
	}); err != nil {
		return nil, fmt.Errorf("creating tenant cc-pay: %w (last: %v)", err, last)
	}
	return oc, nil
}

// rawGet reads path through the kube-apiserver as cfg's user with a plain
// HTTP client (client-go's REST client would retry a 429 by itself).
func rawGet(ctx context.Context, cfg *rest.Config, path string) (int, string, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+path, nil)
	if err != nil {
		return 0, "", err
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func userConfig(t *testing.T, name string, groups ...string) *rest.Config {
	t.Helper()
	_, cfg, err := env.UserClient(name, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// statusMessage is the message of a Kubernetes Status body.
func statusMessage(body string) string {
	var st metav1.Status
	if json.Unmarshal([]byte(body), &st) != nil {
		return body
	}
	return st.Message
}

// TestChargebackWindowIsCapped: a lead asks for the chargeback of all time.
func TestChargebackWindowIsCapped(t *testing.T) {
	costAPI(t)
	alice := userConfig(t, "cc-alice", "cc-leads")
	path := costapi.ChargebackPath("cc-pay") + "?window="
	// The owner's access is granted by the Tenant controller; wait for it
	// with a small window.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		code, body, err := rawGet(ctx, alice, path+"2026-02-01,2026-02-03")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("owner's chargeback: %d %v: %s", code, err, body)
		}
		return nil
	})
	ctx := context.Background()
	// The year 1 is Go's zero time, refused as no window at all; the year
	// 2 is a window of eight millennia.
	if code, body, err := rawGet(ctx, alice, path+"0001-01-01,9999-12-31"); err != nil || code != http.StatusBadRequest ||
		!strings.Contains(statusMessage(body), "query parameter window") {
		t.Errorf("window 0001-01-01,9999-12-31: %d %v %q, want 400 about the window", code, err, statusMessage(body))
	}
	for _, win := range []string{"0002-01-01,9999-12-31", "2025-01-01,2026-02-06"} {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		code, body, err := rawGet(ctx, alice, path+win)
		cancel()
		if err != nil {
			t.Fatalf("window %s: %v", win, err)
		}
		msg := statusMessage(body)
		if code != http.StatusBadRequest || !strings.Contains(msg, "maximum of 400 days") {
			t.Errorf("window %s: status %d %q, want 400 naming the 400-day maximum", win, code, msg)
		}
	}
	// Exactly 400 days is accepted.
	if code, body, err := rawGet(ctx, alice, path+"2025-01-01,2026-02-05"); err != nil || code != http.StatusOK {
		t.Errorf("a 400-day window: %d %v: %s", code, err, statusMessage(body))
	}
}

// TestChargebackConcurrencyIsLimited: one lead opens more chargebacks than
// one user may run at once, then others fill the server; the excess gets
// 429 with Retry-After, and everything admitted completes.
func TestChargebackConcurrencyIsLimited(t *testing.T) {
	oc := costAPI(t)
	alice := userConfig(t, "cc-alice", "cc-leads")
	bob := userConfig(t, "cc-bob", "cc-finance")
	carol := userConfig(t, "cc-carol", "cc-finance")
	path := costapi.ChargebackPath("cc-pay") + "?window=" + slowWindow
	quick := costapi.ChargebackPath("cc-pay") + "?window=2026-02-01,2026-02-02"
	for _, u := range []*rest.Config{alice, bob, carol} {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			code, body, err := rawGet(ctx, u, quick)
			if err != nil || code != http.StatusOK {
				return fmt.Errorf("%d %v: %s", code, err, body)
			}
			return nil
		})
	}
	defer oc.release()

	type result struct {
		code int
		body string
		err  error
	}
	results := make(chan result, 8)
	start := func(cfg *rest.Config) {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
			defer cancel()
			code, body, err := rawGet(ctx, cfg, path)
			results <- result{code, body, err}
		}()
	}
	waitHeld := func(n int32) {
		framework.Eventually(t, wait, func(context.Context) error {
			if got := oc.held.Load(); got != n {
				return fmt.Errorf("%d chargebacks held at OpenCost, want %d", got, n)
			}
			return nil
		})
	}
	// alice's two chargebacks are admitted; her third is refused.
	start(alice)
	start(alice)
	waitHeld(2)
	ctx := context.Background()
	code, body, err := rawGet(ctx, alice, path)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusTooManyRequests || !strings.Contains(statusMessage(body), `user "cc-alice" already has 2 chargebacks in progress`) {
		t.Errorf("alice's third chargeback: status %d %q, want 429 naming her limit", code, statusMessage(body))
	}
	// bob takes the last slot; carol is refused by the total.
	start(bob)
	waitHeld(3)
	code, body, err = rawGet(ctx, carol, path)
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusTooManyRequests || !strings.Contains(statusMessage(body), "3 chargebacks are in progress") {
		t.Errorf("carol's chargeback with the server full: status %d %q, want 429 naming the total", code, statusMessage(body))
	}

	oc.release()
	for range 3 {
		r := <-results
		if r.err != nil || r.code != http.StatusOK {
			t.Errorf("an admitted chargeback: %d %v: %s", r.code, r.err, statusMessage(r.body))
		}
	}
	// The slots are free again.
	if code, body, err := rawGet(ctx, carol, path); err != nil || code != http.StatusOK {
		t.Errorf("carol after the others finished: %d %v: %s", code, err, statusMessage(body))
	}
}
