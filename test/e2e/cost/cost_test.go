package cost

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/costdemo"
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

	// The fleet's three control planes, started side by side: member A,
	// with the manager in this process, runs every single-cluster check;
	// the hub and member B run bin/canopy-manager.
	sitesStarted := startSites(ctx, dir)
	env, err := framework.Start()
	sites := <-sitesStarted
	// Cleanups run last registered first: Prometheus, OpenCost, then the
	// managers and control planes, whose API servers OpenCost watches.
	if err == nil {
		t.Cleanup(func() {
			if err := env.Stop(); err != nil {
				t.Errorf("stopping the control plane: %v", err)
			}
		})
	}
	for _, s := range sites.sites {
		t.Cleanup(s.lc.Stop)
	}
	if err != nil {
		t.Fatalf("starting member A's control plane and manager: %v", err)
	}
	if sites.err != nil {
		t.Fatalf("starting the hub's and member B's control planes: %v", sites.err)
	}
	hub, b := sites.sites[0], sites.sites[1]
	// The members accept the hub's writes of its Tenants.
	env.Options.Fleet.HubUsers = []string{hubUser}
	env.StopManager()
	if err := env.StartManager(env.Options); err != nil {
		t.Fatalf("restarting member A's manager with --fleet-hub-user: %v", err)
	}
	b.startManager(t, "--fleet-hub-user="+hubUser)
	portB, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	urlA, urlB := fmt.Sprintf("http://127.0.0.1:%d", costdemo.OpenCostPort), fmt.Sprintf("http://127.0.0.1:%d", portB)
	startHub(ctx, t, hub, env.CP, b.lc.CP, urlA, urlB)
	createFleetTenants(ctx, t, hub.c)
	createCluster(ctx, t, env.Client, memberA)
	createCluster(ctx, t, b.c, memberB)
	kubeconfig := filepath.Join(dir, "admin.kubeconfig")
	if err := env.CP.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}

	// Each member's own OpenCost (A's on the default port) and, once its
	// exposition is read, its own Prometheus with its own history.
	a := startMemberOpenCost(ctx, t, ocBin, dir, kubeconfig, memberA, costdemo.OpenCostPort)
	bc := startMemberOpenCost(ctx, t, ocBin, filepath.Join(b.dir, "opencost"), b.lc.Kubeconfig, memberB, portB)
	end := time.Now().UTC().Truncate(time.Minute)
	a.startPrometheus(ctx, t, end)
	bc.startPrometheus(ctx, t, end)
	oc := a.openCost

	// One whole day inside the history, at least an hour from either
	// edge, on whole hours: OpenCost computes node (hence idle) minutes on
	// a coarser grid aligned to the clock, and would cut a day starting or
	// ending between its points short.
	dayEnd := end.Add(-time.Hour).Truncate(time.Hour)
	day := period.Window{Start: dayEnd.Add(-24 * time.Hour), End: dayEnd}
	t.Run("policies", func(t *testing.T) { checkPolicies(ctx, t, oc, day) })
	t.Run("fleet chargeback", func(t *testing.T) { checkFleet(ctx, t, []*memberCost{bc, a}, day) })
	t.Run("fleet chargeback through the hub", func(t *testing.T) { checkHubChargeback(t, hub, []*memberCost{a, bc}, day) })
	startManagerWithCost(ctx, t, env, oc)
	t.Run("tenant status", func(t *testing.T) { checkStatus(t, env, end) })
	t.Run("chargeback API as users", func(t *testing.T) { checkChargebackAPI(t, env, day) })
}

// tolerance for figures OpenCost computes: the prices and hours make
// every one exact at its 5 decimals.
const tolerance = 1e-9

// waitForExposition waits until OpenCost's /metrics describes every pod of
// w as running and prices its node, and returns it.
func waitForExposition(ctx context.Context, t *testing.T, oc string, w world) string {
	t.Helper()
	var body string
	framework.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		b, err := costdemo.ReadyExposition(ctx, oc, w.node, w.podKeys())
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
