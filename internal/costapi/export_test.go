package costapi

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func TestExporterWritesClosedPeriodsOnce(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 10, 4, 5, 59, 0, 0, time.UTC)
	oc := &fakeOpenCost{allocs: testAllocations()}
	e := &Exporter{
		Dir: dir, Granularity: period.Daily, Grace: period.DefaultGrace,
		Since:  time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC),
		Source: staticSource(testDirectory()), OpenCost: oc,
		Rollup: cost.Options{Idle: cost.Separate, Shared: cost.Separate}, Currency: "USD",
		Now: func() time.Time { return clock },
	}
	ctx := context.Background()
	next, err := e.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// At 05:59 on the 4th, the 3rd is not closed yet (6 h of grace).
	want := []string{"chargeback-daily-2026-10-01.csv", "chargeback-daily-2026-10-02.csv"}
	if diff := cmp.Diff(want, dirNames(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if wantNext := time.Date(2026, 10, 4, 6, 0, 0, 0, time.UTC); !next.Equal(wantNext) {
		t.Errorf("next = %v, want %v", next, wantNext)
	}
	// Each file is the whole cluster's chargeback of its day.
	cb, err := Compute(ctx, oc, testDirectory(), e.Rollup, "USD", Query{Window: period.DayOf(time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	var wantCSV bytes.Buffer
	if err := cb.WriteCSV(&wantCSV); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, want[1]))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantCSV.String(), string(got)); diff != "" || !strings.Contains(string(got), ",idle,") || !strings.Contains(string(got), ",tenant,search,") {
		t.Errorf("file of 2026-10-02 (-want +got):\n%s", diff)
	}

	// A closed period is never rewritten, even when OpenCost's figures
	// change; the newly closed one is written.
	if err := os.WriteFile(filepath.Join(dir, want[0]), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	oc.allocs = []opencost.Allocation{{Key: "pay", CPUCost: 100, TotalCost: 100}}
	clock = time.Date(2026, 10, 4, 6, 0, 0, 0, time.UTC)
	if _, err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	want = append(want, "chargeback-daily-2026-10-03.csv")
	if diff := cmp.Diff(want, dirNames(t, dir)); diff != "" {
		t.Errorf("files after the 3rd closed (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, want[0])); string(b) != "kept\n" {
		t.Errorf("closed period rewritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, want[1])); !bytes.Equal(b, wantCSV.Bytes()) {
		t.Errorf("closed period rewritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, want[2])); !strings.Contains(string(b), ",100.00,") {
		t.Errorf("file of the 3rd: %q", b)
	}
}

func TestExporterLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	e := &Exporter{
		Dir: dir, Granularity: period.Monthly, Grace: period.DefaultGrace,
		Source:   staticSource(testDirectory()),
		OpenCost: &fakeOpenCost{allocs: testAllocations(), failAfter: 10, err: &opencost.UnavailableError{URL: "x", Err: errors.New("down")}},
		Rollup:   cost.Options{Idle: cost.Separate, Shared: cost.Separate}, Currency: "USD",
		Now: func() time.Time { return time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) },
	}
	// Since defaults to the previous month: October is closed, its read
	// fails on day 11, and no file (complete or partial) is left.
	if _, err := e.RunOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "chargeback-monthly-2026-10.csv") {
		t.Fatalf("RunOnce = %v, want the failure naming the file", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("files left after a failure: %v", names)
	}
	e.OpenCost = &fakeOpenCost{allocs: testAllocations()}
	if _, err := e.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"chargeback-monthly-2026-10.csv"}, dirNames(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestExporterWaitsUntilReady(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	e := &Exporter{
		Dir: dir, Granularity: period.Daily, Source: staticSource(testDirectory()), OpenCost: &fakeOpenCost{allocs: testAllocations()},
		Rollup: cost.Options{Idle: cost.Separate, Shared: cost.Separate},
		Ready: func(ctx context.Context) error {
			cancel() // never ready: the manager stops first
			<-ctx.Done()
			return ctx.Err()
		},
	}
	if err := e.Start(ctx); err != nil {
		t.Fatalf("Start after a stop while waiting = %v, want nil", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("exported before the forest loaded: %v", names)
	}
}

// On a hub with fleet members, each file is the fleet's chargeback: every
// member's rows with their cluster and the cluster and fleet totals, as
// ComputeFleet gives it; the hub's own OpenCost is not read.
func TestExporterOnAHubWritesTheFleet(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 10, 3, 6, 0, 0, 0, time.UTC)
	hubOwn := &fakeOpenCost{err: errors.New("the hub's own OpenCost must not be read")}
	e := &Exporter{
		Dir: dir, Granularity: period.Daily, Grace: period.DefaultGrace,
		Since:  time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC),
		Source: staticSource(testDirectory()), OpenCost: hubOwn,
		Fleet:  func(context.Context) ([]FleetMember, error) { return fleetMembers(), nil },
		Rollup: cost.Options{Idle: cost.Separate, Shared: cost.Separate}, Currency: "USD",
		Now: func() time.Time { return clock },
	}
	ctx := context.Background()
	if _, err := e.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	name := "chargeback-daily-2026-10-02.csv"
	if diff := cmp.Diff([]string{name}, dirNames(t, dir)); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	cb, err := ComputeFleet(ctx, fleetMembers(), FleetDirectory(testDirectory()), e.Rollup, "USD", Query{Window: period.DayOf(time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := cb.WriteCSV(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.String(), string(got)); diff != "" {
		t.Errorf("the hub's export (-want +got):\n%s", diff)
	}
	for _, line := range []string{",eu,cluster_total,", ",us,cluster_total,", ",,fleet_total,"} {
		if !strings.Contains(string(got), line) {
			t.Errorf("the hub's export has no %q row:\n%s", line, got)
		}
	}
	if !strings.HasPrefix(string(got), strings.Join(cost.FleetHeader, ",")+"\n") {
		t.Errorf("the hub's export does not start with the fleet header:\n%s", got)
	}
}
