// Package scale is Canopy's scale envelope (`make bench`, issue 13): the
// same figures for Canopy, for HNC v1.1.0 and for an unthrottled floor,
// each system on a fresh control plane of its own, printed as one table.
//
//   - The floor is the same objects written by the benchmark's one client
//     (no client-side rate limit, 64 goroutines) on a control plane with
//     the CRDs and no manager or webhooks: namespaces and anchors, or
//     namespaces and HierarchyConfigurations, for the trees; the copies
//     themselves, created, updated and deleted in every descendant, for
//     propagation; pods beside a plain ResourceQuota and beside none for
//     quota admission.
//   - Canopy is bin/canopy-manager (`make build`) as its own process with
//     default settings, its own user and its webhooks served.
//   - HNC is v1.1.0's manager (`make hnc-bins`) as its default manifests
//     run it, with hierarchical quotas on and every webhook served.
//
// Figures: a tree of N namespaces four levels deep, built through
// spec.parent and (on a second control plane) through anchors created as
// soon as each parent exists, until every namespace carries the root's
// tree label (and, through anchors, every anchor reports Ok); a Role and
// a RoleBinding created, updated and deleted at the root until every descendant holds, holds updated, and no longer holds
// the copies; restart to ready (readyz, and a dry-run cycle refused from
// the loaded forest) after a graceful stop and after SIGKILL, and the
// manager's writes from its start until 10 s after ready, from the API
// server's audit log; pod-create p50 and p99 under a hierarchical quota at
// subtrees of 10 and N beside a plain ResourceQuota, the same behind a
// no-op webhook on its status (the floor of any webhook), and no quota; peak RSS
// (VmHWM) and CPU from /proc.
//
// Knobs (environment): BENCH_RUNS (default 3; each ratio is the median of
// the runs' ratios), BENCH_SIZES (default "1000,3000"), BENCH_10K=1 (adds
// 10,000), BENCH_SYSTEMS (default "floor,Canopy,HNC"), BENCH_SAMPLES (pods
// per namespace and subtree, default 200), BENCH_PPROF_DIR (CPU profiles of
// Canopy's tree building and propagation, BENCH_PPROF_SECONDS each,
// default 30), BENCH_DIR (logs and the table; default .bench/scale),
// BENCH_QUOTA_ONLY=1 (only the tree through spec.parent and quota
// admission, with the manager's CPU over the quota phase),
// BENCH_NOOP_SERVER=canopy or process (the no-op webhook served by
// Canopy's own webhook server, or by a process of its own rather than the
// benchmark's: experiments on where Canopy's extra time per call goes).
//
// Without -bench the package starts nothing.
package scale

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// TestMain serves the no-op webhook instead when run as its process
// (BENCH_NOOP_SERVER=process).
func TestMain(m *testing.M) {
	if os.Getenv("BENCH_NOOP_SERVE") == "1" {
		serveNoopChild()
	}
	os.Exit(m.Run())
}

func BenchmarkScale(b *testing.B) {
	ctrllog.SetLogger(logr.Discard())
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		b.Fatal(err)
	}
	cfg := config{runs: envInt(b, "BENCH_RUNS", 3), samples: envInt(b, "BENCH_SAMPLES", 200),
		pprofDir: os.Getenv("BENCH_PPROF_DIR"), pprofFor: time.Duration(envInt(b, "BENCH_PPROF_SECONDS", 30)) * time.Second,
		dir: os.Getenv("BENCH_DIR"), quotaOnly: os.Getenv("BENCH_QUOTA_ONLY") == "1"}
	if cfg.dir == "" {
		cfg.dir = filepath.Join(root, ".bench", "scale")
	}
	for _, s := range strings.Split(envOr("BENCH_SIZES", "1000,3000"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 10 {
			b.Fatalf("BENCH_SIZES: %q is not a size of at least 10", s)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	if os.Getenv("BENCH_10K") == "1" && !slices.Contains(cfg.sizes, 10000) {
		cfg.sizes = append(cfg.sizes, 10000)
	}
	if cfg.pprofDir != "" {
		if err := os.MkdirAll(cfg.pprofDir, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	all := []system{floorSystem(root), canopySystem(root)}
	if hnc, err := hncSystem(); err == nil {
		all = append(all, hnc)
	} else if strings.Contains(envOr("BENCH_SYSTEMS", "HNC"), "HNC") {
		b.Fatal(err)
	}
	var systems []system
	var names []string
	for _, s := range all {
		if slices.Contains(strings.Split(envOr("BENCH_SYSTEMS", "floor,Canopy,HNC"), ","), s.name) {
			systems = append(systems, s)
			names = append(names, s.name)
		}
	}
	names = slices.DeleteFunc(names, func(s string) bool { return s == "floor" })

	ctx := context.Background()
	res := results{}
	started := time.Now()
	for b.Loop() {
		for run := range cfg.runs {
			for _, n := range cfg.sizes {
				for _, sys := range systems {
					t0 := time.Now()
					f, err := measure(ctx, cfg, sys, n, run)
					if err != nil {
						b.Fatalf("%s at %d namespaces, run %d: %v", sys.name, n, run, err)
					}
					fmt.Printf("%s n=%d run %d took %s; figures: %v\n", sys.name, n, run, time.Since(t0).Round(time.Second), f)
					res.add(run, n, sys.name, f)
				}
				// The table so far, so a long run interrupted keeps what
				// it measured.
				if err := writeTable(cfg, res, names, started, false); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := writeTable(cfg, res, names, started, true); err != nil {
		b.Fatal(err)
	}
}

// writeTable writes the table of res into cfg.dir and, when final, prints
// it.
func writeTable(cfg config, res results, names []string, started time.Time, final bool) error {
	host, _ := os.Hostname()
	header := fmt.Sprintf("Run %s on %s (%s/%s, %d CPUs), %d run(s) of %v, %d pods per quota sample; took %s. Medians of the runs; each ratio is the median of the runs' ratios.\n\n",
		started.UTC().Format("2006-01-02 15:04 MST"), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cfg.runs, cfg.sizes, cfg.samples,
		time.Since(started).Round(time.Second))
	table := header + res.table(cfg.sizes, names)
	out := filepath.Join(cfg.dir, "scale-"+started.UTC().Format("20060102-1504")+".md")
	if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
		return err
	}
	if final {
		fmt.Println()
		fmt.Println(table)
		fmt.Println("Written to", out)
	}
	return nil
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s: %q is not a positive number", name, v)
	}
	return n
}
