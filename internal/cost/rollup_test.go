package cost

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

var day1 = period.DayOf(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))

// alloc is an allocation with only a total and a CPU cost equal to it.
func alloc(key string, total float64, labels map[string]string) opencost.Allocation {
	nan := math.NaN()
	return opencost.Allocation{
		Key: key, Name: key, NamespaceLabels: labels,
		CPUCost: total, TotalCost: total,
		CPUCostAdjustment: nan, GPUCost: nan, GPUCostAdjustment: nan, RAMCost: nan, RAMCostAdjustment: nan,
		PVCost: nan, PVCostAdjustment: nan, NetworkCost: nan, NetworkCostAdjustment: nan,
		LoadBalancerCost: nan, LoadBalancerCostAdjustment: nan, SharedCost: nan, ExternalCost: nan,
		CPUCoreHours: nan, RAMByteHours: nan,
	}
}

// testStep: payments 40 (10+20+5+5), search 60, kube-system 10 shared,
// default 3 unresolved, idle 30, __unallocated__ 2; total 145.
func testStep() *opencost.Step {
	return &opencost.Step{Window: day1, Allocations: []opencost.Allocation{
		alloc("search", 60, nil),
		alloc("payments-api", 20, nil),
		alloc("payments", 10, nil),
		alloc("__idle__", 30, nil),
		alloc("payments-api-staging", 5, nil),
		alloc("kube-system", 10, nil),
		alloc("payments-old", 5, oldLabels),
		alloc("default", 3, nil),
		alloc("__unallocated__", 2, nil),
	}}
}

// u converts units to Micro for hand-computed expectations.
func u(x float64) Micro { return Micro(math.Round(x * 1e6)) }

// got is a row reduced to what the policy tables check.
type got struct {
	Line                Line
	Namespace           string
	Total, Shared, Idle Micro
}

func TestRollupPolicies(t *testing.T) {
	// Tenant weights: payments 40, search 60. Within payments by namespace
	// cost 10:20:5:5, in path order payments, payments/payments-api,
	// payments/payments-api/payments-api-staging, payments/payments-old.
	tenantRows := func(shared, idle [5]float64) []got {
		own := [5]float64{10, 20, 5, 5, 60}
		ns := [5]string{"payments", "payments-api", "payments-api-staging", "payments-old", "search"}
		var out []got
		for i := range ns {
			out = append(out, got{LineTenant, ns[i], u(own[i] + shared[i] + idle[i]), u(shared[i]), u(idle[i])})
		}
		return out
	}
	none := [5]float64{}
	weightedShared := [5]float64{1, 2, 0.5, 0.5, 6}      // 10 split 4:6, then 10:20:5:5
	evenShared := [5]float64{1.25, 2.5, 0.625, 0.625, 5} // 10 split 5:5
	weightedIdle := [5]float64{3, 6, 1.5, 1.5, 18}       // 30 split 12:18
	evenIdle := [5]float64{3.75, 7.5, 1.875, 1.875, 15}  // 30 split 15:15
	sharedLine := got{LineShared, "kube-system", u(10), 0, 0}
	idleLine := got{LineIdle, "__idle__", u(30), 0, 0}
	unallocLine := got{LineUnallocated, "__unallocated__", u(5), 0, 0}

	tests := []struct {
		idle, shared Policy
		want         []got
	}{
		{Separate, Separate, append(tenantRows(none, none), sharedLine, idleLine, unallocLine)},
		{Separate, Weighted, append(tenantRows(weightedShared, none), idleLine, unallocLine)},
		{Separate, Even, append(tenantRows(evenShared, none), idleLine, unallocLine)},
		{Weighted, Separate, append(tenantRows(none, weightedIdle), sharedLine, unallocLine)},
		{Weighted, Weighted, append(tenantRows(weightedShared, weightedIdle), unallocLine)},
		{Weighted, Even, append(tenantRows(evenShared, weightedIdle), unallocLine)},
		{Even, Separate, append(tenantRows(none, evenIdle), sharedLine, unallocLine)},
		{Even, Weighted, append(tenantRows(weightedShared, evenIdle), unallocLine)},
		{Even, Even, append(tenantRows(evenShared, evenIdle), unallocLine)},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("idle=%s,shared=%s", tc.idle, tc.shared), func(t *testing.T) {
			r, err := NewRoller(testDirectory(), Options{Idle: tc.idle, Shared: tc.shared, SharedNamespaces: []string{"kube-system", "monitoring"}})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := r.Step(testStep())
			if err != nil {
				t.Fatal(err)
			}
			var gotRows []got
			var sum Micro
			for _, row := range rep.Rows {
				gotRows = append(gotRows, got{row.Line, row.Namespace, row.Total, row.Shared, row.Idle})
				sum += row.Total
			}
			if diff := cmp.Diff(tc.want, gotRows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if sum != u(145) || rep.OpenCostTotal != u(145) {
				t.Errorf("rows sum to %s and OpenCost's total is %s, want both 145", sum, rep.OpenCostTotal)
			}
			if rep.Unallocated != u(5) {
				t.Errorf("Unallocated = %s, want 5 (default 3 + __unallocated__ 2)", rep.Unallocated)
			}
			if diff := cmp.Diff([]string{"default"}, rep.Unresolved); diff != "" {
				t.Errorf("Unresolved (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRollupNoTenantsKeepsLines(t *testing.T) {
	r, err := NewRoller(Directory{}, Options{Idle: Weighted, Shared: Even, SharedNamespaces: []string{"kube-system"}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Step(&opencost.Step{Window: day1, Allocations: []opencost.Allocation{
		alloc("kube-system", 4, nil), alloc("__idle__", -1.5, nil), alloc("x", 1, nil),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []got{
		{LineShared, "kube-system", u(4), 0, 0},
		{LineIdle, "__idle__", u(-1.5), 0, 0},
		{LineUnallocated, "__unallocated__", u(1), 0, 0},
	}
	var gotRows []got
	for _, row := range rep.Rows {
		gotRows = append(gotRows, got{row.Line, row.Namespace, row.Total, row.Shared, row.Idle})
	}
	if diff := cmp.Diff(want, gotRows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestRollupComponents(t *testing.T) {
	a := alloc("search", 0, nil)
	a.CPUCost, a.CPUCostAdjustment, a.RAMCost, a.GPUCost, a.PVCost = 0.768, -0.018, 0.096, 2, 0.01
	a.NetworkCost, a.LoadBalancerCost, a.SharedCost, a.ExternalCost = 0.05, 0.5, 0.25, 1
	a.CPUCoreHours, a.RAMByteHours = 24, 24*3*(1<<30)
	a.TotalCost = 4.656
	r, err := NewRoller(testDirectory(), Options{Idle: Weighted, Shared: Separate})
	if err != nil {
		t.Fatal(err)
	}
	nullTotal := alloc("payments", 0, nil)
	nullTotal.TotalCost = math.NaN()
	rep, err := r.Step(&opencost.Step{Window: day1, Allocations: []opencost.Allocation{a, nullTotal, alloc("__idle__", 1, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	want := Costs{
		CPU: u(0.75), RAM: u(0.096), GPU: u(2), PV: u(0.01), Network: u(0.05), LoadBalancer: u(0.5),
		External: u(1), Shared: u(0.25), Idle: u(1), Total: u(5.656), CPUCoreHours: u(24), RAMGiBHours: u(72),
	}
	if diff := cmp.Diff(want, rep.Rows[1].Costs); diff != "" {
		t.Errorf("search costs (-want +got):\n%s", diff)
	}
	if rep.NullTotals != 1 || rep.Rows[0].Total != 0 {
		t.Errorf("NullTotals = %d and payments total %s, want 1 and 0", rep.NullTotals, rep.Rows[0].Total)
	}
}

func TestRollupRejects(t *testing.T) {
	if _, err := NewRoller(Directory{}, Options{Idle: "spread", Shared: Separate}); err == nil {
		t.Error("NewRoller accepted an unknown idle policy")
	}
	r, err := NewRoller(Directory{}, Options{Idle: Separate, Shared: Separate})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Step(&opencost.Step{Allocations: []opencost.Allocation{alloc("x", 5e12, nil)}}); err == nil {
		t.Error("Step accepted a total out of range")
	}
}
