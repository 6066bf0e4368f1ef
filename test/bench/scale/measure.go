package scale

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// figures are one system's measurements at one size in one run, keyed by
// the figure names of the table (report.go).
type figures map[string]float64

// config is what one invocation measures.
type config struct {
	runs    int
	sizes   []int
	samples int
	// pprofDir, if set, receives CPU profiles of Canopy's tree building
	// and propagation, pprofFor long each.
	pprofDir string
	pprofFor time.Duration
	dir      string
	// quotaOnly measures only the tree through spec.parent and quota.
	quotaOnly bool
}

// measure runs every figure for sys at size n: phase A on one control
// plane (tree through spec.parent, propagation, quota admission,
// restarts), phase B on a fresh one (tree through anchors).
func measure(ctx context.Context, cfg config, sys system, n, run int) (figures, error) {
	f := figures{}
	dir := filepath.Join(cfg.dir, fmt.Sprintf("run%d-n%d-%s", run, n, sys.name))
	floor := sys.start == nil
	var peak float64
	notePeak := func(p *proc) {
		if p == nil {
			return
		}
		if rss, err := p.peakRSS(); err == nil && rss > peak {
			peak = rss
		}
	}
	profile := func(p *proc, phase string) func() {
		if p == nil || cfg.pprofDir == "" {
			return func() {}
		}
		return p.profile(ctx, cfg.pprofFor, filepath.Join(cfg.pprofDir, fmt.Sprintf("%s-n%d-run%d-%s.pprof", sys.name, n, run, phase)))
	}
	cpu := func(p *proc) time.Duration {
		if p == nil {
			return 0
		}
		d, _ := p.cpu()
		return d
	}

	// Phase A. Its watches end with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cl, err := sys.newCluster(filepath.Join(dir, "a"))
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	var p *proc
	if !floor {
		if p, err = sys.start(cl, dir); err != nil {
			return nil, err
		}
		defer func() {
			if p != nil {
				p.stop()
			}
		}()
		if err := p.waitReady(5 * time.Minute); err != nil {
			return nil, err
		}
	}
	t := newTree("pa", n)
	c0, wait := cpu(p), profile(p, "tree-parent")
	d, err := buildByParent(ctx, cl, t, floor)
	if err != nil {
		return nil, fmt.Errorf("tree through spec.parent: %w", err)
	}
	wait()
	f["tree-parent"], f["cpu-tree-parent"] = d.Seconds(), (cpu(p) - c0).Seconds()
	fmt.Printf("%s n=%d run %d: tree through spec.parent %.2fs\n", sys.name, n, run, d.Seconds())

	if cfg.quotaOnly {
		return measureQuotaOnly(ctx, cl, sys, t, cfg.samples, f, p, notePeak, &peak, func() func() { return profile(p, "quota") })
	}
	var prop propagation
	var tr *copyTracker
	c0 = cpu(p)
	if floor {
		if prop, err = floorPropagation(ctx, cl, t); err != nil {
			return nil, fmt.Errorf("propagation floor: %w", err)
		}
	} else {
		if tr, err = trackCopies(ctx, cl, t.root); err != nil {
			return nil, err
		}
		wait = profile(p, "propagation")
		if err := propagateCreateUpdate(ctx, cl, t, tr, &prop); err != nil {
			return nil, fmt.Errorf("propagation: %w", err)
		}
		wait()
		f["cpu-prop"] = (cpu(p) - c0).Seconds()
	}
	f["prop-create"], f["prop-update"] = prop.create.Seconds(), prop.update.Seconds()
	fmt.Printf("%s n=%d run %d: propagation create %.2fs, update %.2fs\n", sys.name, n, run, prop.create.Seconds(), prop.update.Seconds())

	if !floor {
		for _, kill := range []bool{false, true} {
			notePeak(p)
			var r restartResult
			p, r, err = restartManager(ctx, sys, cl, dir, p, kill, t)
			if err != nil {
				return nil, fmt.Errorf("restart (SIGKILL %v): %w", kill, err)
			}
			key := "restart-graceful"
			if kill {
				key = "restart-kill"
			}
			f[key], f[key+"-writes"], f[key+"-cycles"] = r.ready.Seconds(), float64(r.writes), float64(r.cyclesAllowed)
			fmt.Printf("%s n=%d run %d: %s ready in %.2fs, %d writes (%s), %d cycles allowed while starting\n",
				sys.name, n, run, key, r.ready.Seconds(), r.writes, r.detail, r.cyclesAllowed)
		}
		if err := propagateDelete(ctx, cl, t, tr, &prop); err != nil {
			return nil, fmt.Errorf("propagation (delete): %w", err)
		}
		notePeak(p)
	}
	f["prop-delete"] = prop.delete.Seconds()
	fmt.Printf("%s n=%d run %d: propagation delete %.2fs\n", sys.name, n, run, prop.delete.Seconds())
	// Quota admission last, after the restarts: a manager whose quota does
	// not admit within 5 minutes loses only these figures.
	quotaFigures(ctx, cl, sys, t, cfg.samples, f, nil)
	notePeak(p)
	if p != nil {
		p.stop()
	}
	cancel()
	cl.stop()
	ctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()

	// Phase B, on a fresh control plane.
	cl, err = sys.newCluster(filepath.Join(dir, "b"))
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	if !floor {
		if p, err = sys.start(cl, dir); err != nil {
			return nil, err
		}
		if err := p.waitReady(5 * time.Minute); err != nil {
			return nil, err
		}
	}
	t = newTree("an", n)
	c0, wait = cpu(p), profile(p, "tree-anchors")
	if d, err = buildByAnchors(ctx, cl, t, floor); err != nil {
		return nil, fmt.Errorf("tree through anchors: %w", err)
	}
	wait()
	f["tree-anchors"], f["cpu-tree-anchors"] = d.Seconds(), (cpu(p) - c0).Seconds()
	fmt.Printf("%s n=%d run %d: tree through anchors %.2fs\n", sys.name, n, run, d.Seconds())
	notePeak(p)
	if !floor {
		f["rss"] = peak / (1 << 20)
	}
	return f, nil
}

// quotaFigures measures quota admission on the tree t of cl into f.
func quotaFigures(ctx context.Context, cl *cluster, sys system, t tree, samples int, f figures, ready func() func()) {
	q, err := measureQuota(ctx, cl, sys, t, samples, f, ready)
	if err != nil {
		fmt.Printf("%s n=%d: no quota figures: %v\n", sys.name, len(t.names), err)
	}
	for size, l := range q {
		for i, kind := range quotaKinds {
			f[fmt.Sprintf("q%d-%s-p50", size, kind)] = float64(l[i].p50.Microseconds()) / 1000
			f[fmt.Sprintf("q%d-%s-p99", size, kind)] = float64(l[i].p99.Microseconds()) / 1000
		}
	}
}

// measureQuotaOnly is BENCH_QUOTA_ONLY: quota admission straight after the
// tree through spec.parent, with the peak RSS and the manager's CPU.
func measureQuotaOnly(ctx context.Context, cl *cluster, sys system, t tree, samples int, f figures, p *proc, notePeak func(*proc), peak *float64, ready func() func()) (figures, error) {
	var c0 time.Duration
	if p != nil {
		c0, _ = p.cpu()
	}
	start := time.Now()
	quotaFigures(ctx, cl, sys, t, samples, f, ready)
	f["quota-phase"] = time.Since(start).Seconds()
	notePeak(p)
	if p != nil {
		c1, _ := p.cpu()
		f["cpu-quota"] = (c1 - c0).Seconds()
		f["rss"] = *peak / (1 << 20)
	}
	return f, nil
}
