package cost

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/costdemo"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

func TestCost(t *testing.T) {
	ocBin, err := costdemo.OpenCostBinary()
	if err != nil {
		t.Fatal(err)
	}
	// OpenCost must never reach off the machine: refuse to start it
	// anywhere but in a new namespace whose only interface is loopback.
	if err := costdemo.CheckLoopbackOnly(os.Getenv(insideEnv)); err != nil {
		t.Fatalf("%v: the test must run in a loopback-only network namespace (TestMain re-executes it under unshare --net)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()

	env, err := framework.Start()
	if err != nil {
		t.Fatalf("starting the control plane and manager: %v", err)
	}
	// Cleanups run last registered first: Prometheus, OpenCost, then the
	// control plane, whose API server OpenCost watches.
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	createCluster(ctx, t, env.Client)
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	if err := env.CP.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}

	// OpenCost first, with Prometheus' address reserved: the history is
	// OpenCost's own exposition, so Prometheus starts once it is written.
	promPort, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	oc := startOpenCost(ctx, t, ocBin, dir, kubeconfig, fmt.Sprintf("http://127.0.0.1:%d", promPort))
	exposition := waitForExposition(ctx, t, oc)
	exported, err := costdemo.ExportedSeries(strings.NewReader(exposition), openCostJob, fmt.Sprintf("127.0.0.1:%d", costdemo.OpenCostPort))
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Truncate(time.Minute)
	promDir := filepath.Join(dir, "prometheus")
	if err := prometheus.Backfill(ctx, promDir, costdemo.OpenMetrics(append(exported, usageSeries()...), end, historyLength, historyInterval)); err != nil {
		t.Fatal(err)
	}
	prom, stopProm, err := prometheus.Start(ctx, prometheus.Options{
		DataDir:        promDir,
		Port:           promPort,
		ScrapeTargets:  []string{fmt.Sprintf("127.0.0.1:%d", costdemo.OpenCostPort)},
		JobNames:       []string{openCostJob},
		HonorLabels:    true,
		ScrapeInterval: 10 * time.Second,
		Output:         os.Stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopProm)
	t.Logf("opencost at %s, prometheus at %s, history ends %s", oc, prom.URL, end)

	// One whole day inside the history, at least an hour from either
	// edge, on whole hours: OpenCost computes node (hence idle) minutes on
	// a coarser grid aligned to the clock, and would cut a day starting or
	// ending between its points short.
	dayEnd := end.Add(-time.Hour).Truncate(time.Hour)
	day := period.Window{Start: dayEnd.Add(-24 * time.Hour), End: dayEnd}
	t.Run("policies", func(t *testing.T) { checkPolicies(ctx, t, oc, day) })
	t.Run("fleet chargeback", func(t *testing.T) { checkFleet(ctx, t, oc, day) })
	startManagerWithCost(ctx, t, env, oc)
	t.Run("tenant status", func(t *testing.T) { checkStatus(t, env, end) })
	t.Run("chargeback API as users", func(t *testing.T) { checkChargebackAPI(t, env, day) })
}

// tolerance for figures OpenCost computes: the prices and hours make
// every one exact at its 5 decimals.
const tolerance = 1e-9

// waitForExposition waits until OpenCost's /metrics describes every pod as
// running and prices the node, and returns it.
func waitForExposition(ctx context.Context, t *testing.T, oc string) string {
	t.Helper()
	var body string
	framework.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		b, err := costdemo.ReadyExposition(ctx, oc, nodeName, podKeys())
		if err != nil {
			return err
		}
		body = b
		return nil
	})
	return body
}

// checkPolicies reads one day of history from OpenCost through Canopy's
// client, rolls it up under each policy, and checks every team's cost,
// conservation and the chargeback CSVs.
func checkPolicies(ctx context.Context, t *testing.T, oc string, day period.Window) {
	client, err := opencost.NewHTTPClient(oc)
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range policyCases() {
		t.Run(pc.name, func(t *testing.T) {
			r := rollUp(ctx, t, client, day, pc.opts)
			if len(r.reports) != 1 {
				t.Fatalf("got %d steps for one day, want 1", len(r.reports))
			}
			if got := r.openCostTotal.Float(); math.Abs(got-dayTotal) > tolerance {
				_, raw, _ := costdemo.HTTPGet(ctx, client.AllocationURL(day))
				t.Errorf("OpenCost's total = %.6f, want %d (the node's cost); OpenCost answered:\n%s", got, dayTotal, raw)
			}
			got := map[string]float64{}
			for _, row := range r.summary {
				got[summaryKey(row)] = row.Total.Float()
			}
			for k, want := range pc.want {
				if g, ok := got[k]; !ok {
					t.Errorf("%s: missing from the summary", k)
				} else if math.Abs(g-want) > tolerance {
					t.Errorf("%s = %.6f, want %.6f", k, g, want)
				}
			}
			for k, g := range got {
				if _, ok := pc.want[k]; !ok {
					t.Errorf("unexpected summary row %s = %.6f", k, g)
				}
			}
			// Conservation: the namespace-level rows sum exactly to
			// OpenCost's total, summed independently here.
			var sum cost.Micro
			for _, row := range r.reports[0].Rows {
				sum += row.Total
			}
			if sum != r.openCostTotal {
				t.Errorf("namespace rows sum to %s, OpenCost's total is %s", sum, r.openCostTotal)
			}
			if pc.name == "both weighted" {
				checkCSV(t, day, r)
			}
		})
	}
}
