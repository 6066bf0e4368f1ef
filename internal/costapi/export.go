package costapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/export"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// ExportPrefix starts every export file's name.
const ExportPrefix = "chargeback"

// Exporter writes one chargeback CSV per closed UTC period (a day or a
// month) into Dir: the whole cluster's namespace-level rows, the shared,
// idle and unallocated lines included, so each file adds up to OpenCost's
// total for its period (on a hub, the fleet's: see Fleet). A period is closed Grace after it ends. Files are
// written with export.WriteFile: atomically, and never over an existing
// file, so a closed period is never rewritten. It runs on the leader only.
type Exporter struct {
	Dir         string
	Granularity period.Granularity
	Grace       time.Duration
	// Since is the first period to export; zero means the start of the
	// previous month.
	Since    time.Time
	Source   Source
	OpenCost opencost.Client
	// Fleet, on a hub, names the members fleet Tenants are placed on. With
	// any, each file is the fleet's chargeback (ComputeFleet): every
	// member's rows with their cluster, then the team, tenant, cluster and
	// fleet totals. Without, it is this cluster's own.
	Fleet    func(ctx context.Context) ([]FleetMember, error)
	Rollup   cost.Options
	Currency string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Ready, if set, blocks until the attribution view is complete (the
	// forest has loaded), so nothing is exported from a partial tree.
	Ready func(context.Context) error
	// RetryAfter is the first wait after a failed run, doubled up to
	// 32 times it; zero means a minute.
	RetryAfter time.Duration
	Log        logr.Logger
}

// NeedLeaderElection is true: one replica exports.
func (e *Exporter) NeedLeaderElection() bool { return true }

func (e *Exporter) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

// Start exports until ctx is done: every closed period missing a file,
// then again when the next period closes, with backoff after a failure.
func (e *Exporter) Start(ctx context.Context) error {
	retry := e.RetryAfter
	if retry <= 0 {
		retry = time.Minute
	}
	backoff := retry
	if e.Ready != nil {
		if err := e.Ready(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("waiting for the namespace forest before exporting: %w", err)
		}
	}
	for {
		next, err := e.RunOnce(ctx)
		wait := time.Until(next)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.Log.Error(err, "Exporting chargeback failed", "retryIn", backoff.String())
			wait = backoff
			backoff = min(2*backoff, 32*retry)
		} else {
			backoff = retry
		}
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// RunOnce writes the file of every closed period that has none, oldest
// first, stopping at the first failure, and returns when the next period
// closes.
func (e *Exporter) RunOnce(ctx context.Context) (time.Time, error) {
	now := e.now()
	next, err := export.Next(e.Granularity, now, e.Grace)
	if err != nil {
		return time.Time{}, err
	}
	since := e.Since
	if since.IsZero() {
		since = period.MonthOf(now).Start.AddDate(0, -1, 0)
	}
	jobs, err := export.Plan(ExportPrefix, e.Granularity, since, now, e.Grace, func(name string) (bool, error) {
		_, err := os.Lstat(filepath.Join(e.Dir, name))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, os.ErrNotExist):
			return false, nil
		default:
			return false, err
		}
	})
	if err != nil {
		return next, fmt.Errorf("planning the chargeback export: %w", err)
	}
	if len(jobs) == 0 {
		return next, nil
	}
	dir, err := e.Source.Directory(ctx)
	if err != nil {
		return next, err
	}
	var members []FleetMember
	if e.Fleet != nil {
		if members, err = e.Fleet(ctx); err != nil {
			return next, fmt.Errorf("naming the fleet's members: %w", err)
		}
	}
	for _, j := range jobs {
		cb, err := computeOn(ctx, members, e.OpenCost, dir, e.Rollup, e.Currency, Query{Window: j.Period})
		if err != nil {
			return next, fmt.Errorf("exporting %s: %w", j.File, err)
		}
		err = export.WriteFile(e.Dir, j.File, 0o644, func(w io.Writer) error { return cb.Write(w, FormatCSV) })
		switch {
		case errors.Is(err, export.ErrExists):
			continue
		case err != nil:
			return next, err
		}
		e.Log.Info("Exported chargeback", "file", j.File, "period", j.Period.String())
	}
	return next, nil
}
