package cost

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

func TestNamespaceTotalsOverTwoDays(t *testing.T) {
	r, err := NewRoller(testDirectory(), Options{Idle: Separate, Shared: Separate})
	if err != nil {
		t.Fatal(err)
	}
	month := period.MonthOf(day1.Start)
	totals := NewNamespaceTotals(month)
	summary := NewTeamSummary(month)
	day2 := period.DayOf(day1.End)
	for _, s := range []*opencost.Step{
		{Window: day1, Allocations: []opencost.Allocation{alloc("payments-api", 1.5, nil), alloc("default", 1, nil), alloc("__idle__", 2, nil)}},
		{Window: day2, Allocations: []opencost.Allocation{alloc("payments-api", 2.25, nil), alloc("search", 4, nil), alloc("orphan", 0.5, nil)}},
	} {
		rep, err := r.Step(s)
		if err != nil {
			t.Fatal(err)
		}
		totals.Add(rep)
		summary.Add(rep)
	}
	rep, err := totals.Report()
	if err != nil {
		t.Fatal(err)
	}
	var gotRows []got
	for _, row := range rep.Rows {
		gotRows = append(gotRows, got{row.Line, row.Namespace, row.Total, row.Shared, row.Idle})
	}
	want := []got{
		{LineTenant, "payments-api", u(3.75), 0, 0},
		{LineTenant, "search", u(4), 0, 0},
		{LineIdle, "__idle__", u(2), 0, 0},
		{LineUnallocated, "__unallocated__", u(1.5), 0, 0},
	}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if rep.Window != month || rep.OpenCostTotal != u(11.25) || rep.Unallocated != u(1.5) {
		t.Errorf("window %v, total %s, unallocated %s; want the month, 11.25 and 1.5", rep.Window, rep.OpenCostTotal, rep.Unallocated)
	}
	if diff := cmp.Diff([]string{"default", "orphan"}, rep.Unresolved); diff != "" {
		t.Errorf("Unresolved (-want +got):\n%s", diff)
	}

	type teamTotal struct {
		Path  string
		Total Micro
	}
	var teams []teamTotal
	for _, row := range summary.Rows() {
		teams = append(teams, teamTotal{row.TeamPath + row.Namespace, row.Total})
	}
	wantTeams := []teamTotal{
		{"payments", u(3.75)}, {"payments/payments-api", u(3.75)}, {"search", u(4)},
		{"__idle__", u(2)}, {"__unallocated__", u(1.5)},
	}
	if diff := cmp.Diff(wantTeams, teams); diff != "" {
		t.Errorf("team totals (-want +got):\n%s", diff)
	}
}
