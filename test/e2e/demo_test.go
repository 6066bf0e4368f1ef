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
	"net/url"
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
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
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
	var grafanaLine, costLine string
	dashboardURLs := map[string]string{}
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			transcript.WriteString(line + "\n")
			if strings.HasPrefix(line, "Grafana: ") {
				grafanaLine = line
			}
			if strings.HasPrefix(line, "Cost: ") || strings.HasPrefix(line, "Cost reporting is off") {
				costLine = line
			}
			if name, url, ok := strings.Cut(strings.TrimPrefix(line, "  tenant "), ": "); ok && strings.HasPrefix(line, "  tenant ") {
				dashboardURLs[name] = url
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

	checkDashboardURLs(t, grafanaLine, dashboardURLs)
	checkCost(t, root, binDir, kubeconfig, costLine)

	stopped = true
	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := demo.Wait(); err != nil {
		t.Fatalf("demo did not stop cleanly on Ctrl-C: %v\n%s", err, transcript.String())
	}
}

// checkDashboardURLs checks that the demo printed a dashboard URL for each
// sample Tenant and that each answers on the demo's Grafana: the page
// itself, and its folder through the API in the URL's organization.
func checkDashboardURLs(t *testing.T, grafanaLine string, urls map[string]string) {
	t.Helper()
	// "Grafana: <url> (user admin, password <pw>; ..."
	fields := strings.Fields(grafanaLine)
	if len(fields) < 6 || fields[3] != "admin," || fields[4] != "password" {
		t.Fatalf("demo printed no Grafana address and credentials, got %q", grafanaLine)
	}
	base, password := fields[1], strings.TrimSuffix(fields[5], ";")
	for _, tenant := range []string{"payments", "search"} {
		raw, ok := urls[tenant]
		if !ok {
			t.Errorf("demo printed no dashboard URL for tenant %s: %v", tenant, urls)
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || !strings.HasPrefix(raw, base+"/dashboards/f/") {
			t.Errorf("tenant %s: dashboard URL %q is not a folder on %s", tenant, raw, base)
			continue
		}
		get := func(target string, header http.Header) (int, []byte) {
			req, err := http.NewRequest(http.MethodGet, target, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth("admin", password)
			for k, v := range header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", target, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, body
		}
		if code, body := get(raw, nil); code != http.StatusOK {
			t.Errorf("tenant %s: GET %s answered %d: %s", tenant, raw, code, body)
		}
		folderUID := strings.Split(strings.TrimPrefix(u.Path, "/dashboards/f/"), "/")[0]
		code, body := get(base+"/api/folders/"+folderUID, http.Header{"X-Grafana-Org-Id": {u.Query().Get("orgId")}})
		var folder struct {
			Title string `json:"title"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &folder) != nil || folder.Title != tenant {
			t.Errorf("tenant %s: folder %s in organization %s answered %d: %s", tenant, folderUID, u.Query().Get("orgId"), code, body)
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
