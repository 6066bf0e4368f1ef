package costbench

import (
	"bytes"
	"encoding/csv"
	"testing"
)

// TestStateGrowsWithNamespacesNotDays runs the same tree over 2 and 20 days:
// the summary and namespace totals hold one entry per team and per
// namespace either way, and the daily CSV has one row per namespace-day.
func TestStateGrowsWithNamespacesNotDays(t *testing.T) {
	small := Shape{Tenants: 6, NamespacesPerTenant: 20, TeamsPerTenant: 3}
	type sizes struct{ teams, namespaces, csvRows int }
	measure := func(days int) sizes {
		s := small
		s.Days = days
		var out bytes.Buffer
		summary, totals, _ := pipeline(t, s, s.Response(), &out, nil)
		rep, err := totals.Report()
		if err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return sizes{len(summary.Rows()), len(rep.Rows), len(records) - 1}
	}
	two, twenty := measure(2), measure(20)
	// 6 tenants × (root + 3 teams), plus the unallocated line; idle is
	// spread. Namespace totals: 120 namespaces plus unallocated.
	wantTwo := sizes{teams: 6*4 + 1, namespaces: 120 + 1, csvRows: 2 * 121}
	if two != wantTwo {
		t.Errorf("2 days: %+v, want %+v", two, wantTwo)
	}
	if twenty.teams != two.teams || twenty.namespaces != two.namespaces || twenty.csvRows != 10*two.csvRows {
		t.Errorf("20 days: %+v; want the same state as 2 days (%+v) and ten times the CSV rows", twenty, two)
	}
}

// TestSyntheticResponseConserves checks the benchmark's input rolls up
// exactly, so the benchmark measures a correct pipeline.
func TestSyntheticResponseConserves(t *testing.T) {
	s := Shape{Days: 3, Tenants: 4, NamespacesPerTenant: 12, TeamsPerTenant: 2}
	summary, totals, _ := pipeline(t, s, s.Response(), &bytes.Buffer{}, nil)
	rep, err := totals.Report()
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range summary.Rows() {
		if r.IsPartition() {
			sum += int64(r.Total)
		}
	}
	if sum != int64(rep.OpenCostTotal) || rep.OpenCostTotal <= 0 {
		t.Errorf("summary partition sums to %d, OpenCost total %d", sum, rep.OpenCostTotal)
	}
	if len(rep.Unresolved) != 0 {
		t.Errorf("unresolved namespaces %v, want every synthetic namespace attributed", rep.Unresolved)
	}
}
