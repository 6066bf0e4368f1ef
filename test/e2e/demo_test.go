// Package e2e runs Canopy's built binaries against a local control plane,
// the way a newcomer meets them through `make demo`.
package e2e

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/dashboards"
	gfapi "github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// TestDemo starts the demo (control plane, canopy-manager binary, samples),
// then checks with the real kubectl that the kubeconfig it prints reaches an
// API server serving Canopy's and HNC's CRDs, and that Ctrl-C stops it.
func TestDemo(t *testing.T) {
	root := framework.RepoRoot()
	for _, b := range []string{"canopy-manager", "kubectl-canopy"} {
		if _, err := os.Stat(filepath.Join(root, "bin", b)); err != nil {
			t.Fatalf("bin/%s missing: run `make build` (make test does): %v", b, err)
		}
	}
	binDir, err := controlplane.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	demoBin := filepath.Join(dir, "demo")
	build := exec.Command("go", "build", "-o", demoBin, "./test/tools/demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	demo := exec.CommandContext(ctx, demoBin, "-root", root, "-dir", filepath.Join(dir, "state"))
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	demo.Stderr = os.Stderr
	// Stopping on a timeout or a failed check is Ctrl-C too.
	demo.Cancel = func() error { return demo.Process.Signal(syscall.SIGINT) }
	demo.WaitDelay = 30 * time.Second
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	// A failed check still stops the demo as Ctrl-C does, while its
	// output is read, so it takes down its control plane, OpenCost and
	// the rest instead of leaving them running.
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = demo.Process.Signal(syscall.SIGINT)
			_ = demo.Wait()
		}
	})
	var transcript strings.Builder
	ready := make(chan string, 1)
	exited := make(chan struct{})
	// Written by the reader before it signals ready, read after.
	var dashboardDir, costLine string
	var quotaLines []string
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			transcript.WriteString(line + "\n")
			if dir, ok := strings.CutPrefix(line, "Dashboards: "); ok {
				dashboardDir = dir
			}
			if strings.HasPrefix(line, "  tenant ") || strings.HasPrefix(line, "    team ") {
				quotaLines = append(quotaLines, line)
			}
			if strings.HasPrefix(line, "Cost: ") || strings.HasPrefix(line, "Cost reporting is off") {
				costLine = line
			}
			if strings.HasPrefix(strings.TrimSpace(line), "export KUBECONFIG=") {
				ready <- strings.TrimPrefix(strings.TrimSpace(line), "export KUBECONFIG=")
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()

	var kubeconfig string
	select {
	case kubeconfig = <-ready:
	case <-exited:
		t.Fatalf("demo exited before printing its kubeconfig:\n%s", transcript.String())
	case <-ctx.Done():
		t.Fatalf("demo never printed its kubeconfig:\n%s", transcript.String())
	}
	out, err := exec.Command(filepath.Join(binDir, "kubectl"), "--kubeconfig", kubeconfig, "get", "crd", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get crd: %v\n%s", err, out)
	}
	for _, crd := range []string{
		"tenants.tenancy.canopy.dev", "hierarchicalquotas.tenancy.canopy.dev",
		"hierarchyconfigurations.hnc.x-k8s.io", "subnamespaceanchors.hnc.x-k8s.io",
		"hncconfigurations.hnc.x-k8s.io", "hierarchicalresourcequotas.hnc.x-k8s.io",
	} {
		if !strings.Contains(string(out), "customresourcedefinition.apiextensions.k8s.io/"+crd) {
			t.Errorf("CRD %s missing from `kubectl get crd`:\n%s", crd, out)
		}
	}
	out, err = exec.Command(filepath.Join(binDir, "kubectl"), "--kubeconfig", kubeconfig, "get", "tenants", "-o", "name").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tenant.tenancy.canopy.dev/payments") {
		t.Errorf("sample Tenants not applied: %v\n%s", err, out)
	}

	checkDashboards(t, dashboardDir)
	checkQuotaUse(t, quotaLines)
	checkCost(t, root, binDir, kubeconfig, costLine)

	stopped = true
	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := demo.Wait(); err != nil {
		t.Fatalf("demo did not stop cleanly on Ctrl-C: %v\n%s", err, transcript.String())
	}
}

// checkDashboards checks the JSON the demo wrote for each sample Tenant
// is ready to import: it imports each tenant's datasource and dashboards
// into the strict Grafana API double, which refuses anything Grafana's API
// would not take, and runs every panel's query through the datasource,
// which reaches the demo's tenant proxy with the tenant's token.
func checkDashboards(t *testing.T, dir string) {
	t.Helper()
	if dir == "" {
		t.Fatal("demo printed no Dashboards: line")
	}
	ctx := context.Background()
	g := grafanaapi.New(t)
	teams := map[string][]string{"payments": {"api", "payments"}, "search": {"index", "search"}}
	for tenant, tenantTeams := range teams {
		tdir := filepath.Join(dir, tenant)
		var ds map[string]any
		readJSON(t, filepath.Join(tdir, "datasource.json"), &ds)
		if ds["uid"] != gfapi.DatasourceUID(tenant) {
			t.Errorf("tenant %s: datasource uid %v, want %s", tenant, ds["uid"], gfapi.DatasourceUID(tenant))
		}
		if err := g.Admin(ctx, http.MethodPost, "/api/datasources", ds, nil); err != nil {
			t.Fatalf("tenant %s: importing datasource.json: %v", tenant, err)
		}
		for _, team := range tenantTeams {
			for _, name := range dashboards.Names() {
				file := filepath.Join(tdir, team+"-"+name+".json")
				var model map[string]any
				readJSON(t, file, &model)
				if model["uid"] != gfapi.DashboardUID(tenant, team, name) || model["schemaVersion"] != float64(dashboards.SchemaVersion) {
					t.Errorf("%s: uid %v, schemaVersion %v", file, model["uid"], model["schemaVersion"])
				}
				if err := g.Admin(ctx, http.MethodPost, "/api/dashboards/db", map[string]any{"dashboard": model, "overwrite": true}, nil); err != nil {
					t.Errorf("importing %s: %v", file, err)
				}
				queryPanels(t, g, file, model, gfapi.DatasourceUID(tenant))
			}
		}
	}
}

// queryPanels runs each query of a dashboard through the double's
// /api/ds/query: a 2xx answer means the tenant proxy took the datasource's
// token and Prometheus the query. (The demo's Prometheus holds Canopy's
// own metrics only, so most queries answer no series; that is data, not
// an error.)
func queryPanels(t *testing.T, g *grafanaapi.Server, file string, model map[string]any, dsUID string) {
	t.Helper()
	panels, _ := model["panels"].([]any)
	if len(panels) == 0 {
		t.Errorf("%s has no panels", file)
	}
	for _, p := range panels {
		targets, _ := p.(map[string]any)["targets"].([]any)
		for _, tg := range targets {
			q := tg.(map[string]any)
			if ref, _ := q["datasource"].(map[string]any); ref["uid"] != dsUID {
				t.Errorf("%s: a query reads datasource %v, want %s", file, ref["uid"], dsUID)
			}
			body := map[string]any{"from": "now-1h", "to": "now", "queries": []any{q}}
			if err := g.Admin(context.Background(), http.MethodPost, "/api/ds/query", body, nil); err != nil {
				t.Errorf("%s: query %v: %v", file, q["expr"], err)
			}
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the demo did not write %s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
}

// checkQuotaUse checks the demo printed each sample Tenant's quota, used
// against hard, and a line per team.
func checkQuotaUse(t *testing.T, lines []string) {
	t.Helper()
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"  tenant payments: pods ", "requests.cpu ", "/40", "    team api (payments-api, payments-api-staging): pods ",
		"  tenant search: pods ", "/16", "    team index (search-index, search-index-eu, search-index-us): pods ",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("demo's quota use lacks %q:\n%s", want, all)
		}
	}
}

// checkCost checks that the demo ran OpenCost (CI runs it as root, with
// socat and the OpenCost binary), that the sample Tenants report non-zero
// month-to-date cost, and that `kubectl canopy cost` reads it through the
// aggregated API with the demo's kubeconfig.
func checkCost(t *testing.T, root, binDir, kubeconfig, costLine string) {
	t.Helper()
	if !strings.HasPrefix(costLine, "Cost: ") {
		t.Fatalf("demo ran without cost (it needs root, socat and `make opencost-bin`): %q", costLine)
	}
	tenants := []string{"payments", "search"}
	framework.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		for _, name := range tenants {
			out, err := exec.CommandContext(ctx, filepath.Join(binDir, "kubectl"), "--kubeconfig", kubeconfig,
				"get", "tenant", name, "-o", "json").Output()
			if err != nil {
				return fmt.Errorf("kubectl get tenant %s: %w", name, err)
			}
			var tn tenancyv1.Tenant
			if err := json.Unmarshal(out, &tn); err != nil {
				return fmt.Errorf("decoding tenant %s: %w", name, err)
			}
			if !meta.IsStatusConditionTrue(tn.Status.Conditions, tenancyv1.ConditionCostAvailable) || tn.Status.Cost == nil {
				return fmt.Errorf("tenant %s: no cost yet: %+v", name, tn.Status.Conditions)
			}
			if mtd, err := strconv.ParseFloat(tn.Status.Cost.MonthToDate, 64); err != nil || mtd <= 0 {
				return fmt.Errorf("tenant %s: monthToDate %q, want a positive amount", name, tn.Status.Cost.MonthToDate)
			}
		}
		return nil
	})

	cmd := exec.Command(filepath.Join(root, "bin", "kubectl-canopy"), "--kubeconfig", kubeconfig, "cost", "--window", "mtd", "-o", "csv")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl canopy cost --window mtd -o csv: %v\n%s", err, stderr.String())
	}
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("kubectl canopy cost -o csv printed no CSV rows (%v):\n%s", err, out)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if _, ok := col["tenant"]; !ok {
		t.Fatalf("CSV header %v has no tenant column", rows[0])
	}
	if _, ok := col["total_cost"]; !ok {
		t.Fatalf("CSV header %v has no total_cost column", rows[0])
	}
	total := map[string]float64{}
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[col["total_cost"]], 64)
		if err != nil {
			t.Errorf("row %v: total_cost: %v", r, err)
		}
		total[r[col["tenant"]]] += v
	}
	for _, name := range tenants {
		if total[name] <= 0 {
			t.Errorf("tenant %s: month-to-date chargeback total %v, want rows with positive cost:\n%s", name, total[name], out)
		}
	}
}
