package cost

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/costdemo"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

// memberCost is one member cluster's cost stack: its own OpenCost, and the
// Prometheus that OpenCost reads, backfilled with the member's history.
type memberCost struct {
	world
	// openCost is the URL of the member's OpenCost.
	openCost string
	dir      string
	port     int
	promPort int
	// exported are the series OpenCost exports for the member, from its
	// /metrics once it described every pod.
	exported []costdemo.Series
}

// startMemberOpenCost starts OpenCost on port for the member w whose API
// server kubeconfig names, with Prometheus' address reserved (the history
// is OpenCost's own exposition, so Prometheus starts once it is written:
// startPrometheus), and waits for its exposition.
func startMemberOpenCost(ctx context.Context, t *testing.T, bin, dir, kubeconfig string, w world, port int) *memberCost {
	t.Helper()
	promPort, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	m := &memberCost{world: w, dir: dir, port: port, promPort: promPort}
	m.openCost = startOpenCost(ctx, t, bin, dir, kubeconfig, fmt.Sprintf("http://127.0.0.1:%d", promPort), port, "canopy-e2e-"+w.cluster)
	exposition := waitForExposition(ctx, t, m.openCost, w)
	if m.exported, err = costdemo.ExportedSeries(strings.NewReader(exposition), openCostJob, fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Fatal(err)
	}
	return m
}

// startPrometheus backfills the member's history, ending at end, and
// starts its Prometheus scraping its OpenCost from then on.
func (m *memberCost) startPrometheus(ctx context.Context, t *testing.T, end time.Time) {
	t.Helper()
	promDir := filepath.Join(m.dir, "prometheus")
	if err := prometheus.Backfill(ctx, promDir, costdemo.OpenMetrics(append(m.exported, usageSeries(m.world)...), end, historyLength, historyInterval)); err != nil {
		t.Fatal(err)
	}
	prom, stopProm, err := prometheus.Start(ctx, prometheus.Options{
		DataDir:        promDir,
		Port:           m.promPort,
		ScrapeTargets:  []string{fmt.Sprintf("127.0.0.1:%d", m.port)},
		JobNames:       []string{openCostJob},
		HonorLabels:    true,
		ScrapeInterval: 10 * time.Second,
		Output:         os.Stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopProm)
	t.Logf("%s: opencost at %s, prometheus at %s, history ends %s", m.cluster, m.openCost, prom.URL, end)
}
