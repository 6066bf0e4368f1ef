package cost

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

func TestBuildDirectory(t *testing.T) {
	tenants := []tenancyv1.Tenant{
		*tenant("pay", 1, nil, tenancyv1.Team{Name: "api", Namespace: "pay-api"}),
		*tenant("web", 1, nil),
	}
	got := BuildDirectory(testForest(t), tenants)
	want := cost.Directory{
		Tenants: map[string]cost.Tenant{
			"pay": {Name: "pay", Teams: []cost.Team{{Name: "api", Root: "pay-api"}}},
			"web": {Name: "web"},
		},
		Namespaces: map[string]cost.LiveNamespace{
			"pay":             {Tenant: "pay", Path: []string{"pay"}},
			"pay-api":         {Tenant: "pay", Path: []string{"pay", "pay-api"}},
			"pay-api-staging": {Tenant: "pay", Path: []string{"pay", "pay-api", "pay-api-staging"}},
			"web":             {Tenant: "web", Path: []string{"web"}},
			"kube-system":     {Path: []string{"kube-system"}},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("directory (-want +got):\n%s", d)
	}
}

func m(units float64) cost.Micro {
	v, _, err := cost.FromFloat(units)
	if err != nil {
		panic(err)
	}
	return v
}

func TestRead(t *testing.T) {
	tenants := []tenancyv1.Tenant{
		*tenant("pay", 1, nil, tenancyv1.Team{Name: "api", Namespace: "pay-api"}),
		*tenant("web", 1, nil),
	}
	lastMonth := []opencost.Allocation{alloc("pay", 100, 0), alloc("kube-system", 7, 0)}
	mtdWindow := period.Window{Start: novStart, End: now}
	octWindow := period.Window{Start: octStart, End: novStart}
	tests := []struct {
		name   string
		opts   cost.Options
		mtd    []opencost.Allocation
		wantMT map[string]*TenantReport
	}{{
		name: "separate, cents rounded half away from zero",
		opts: cost.Options{Idle: cost.Separate, Shared: cost.Separate},
		mtd: []opencost.Allocation{
			alloc("pay", 4, 2), alloc("pay-api", 1.5, 0.5), alloc("pay-api-staging", 0.005, 0),
			alloc("web", 2, 0), alloc("kube-system", 1, 0), alloc(opencost.KeyIdle, 5, 0),
		},
		wantMT: map[string]*TenantReport{
			"pay": {MonthToDate: m(8.005), LastMonth: m(100), Teams: []TeamReport{
				{Team: "pay", Costs: cost.Costs{CPU: m(5.505), RAM: m(2.5), Total: m(8.005)}},
				{Team: "api", Costs: cost.Costs{CPU: m(1.505), RAM: m(0.5), Total: m(2.005)}},
			}},
			"web": {MonthToDate: m(2), Teams: []TeamReport{{Team: "web", Costs: cost.Costs{CPU: m(2), Total: m(2)}}}},
		},
	}, {
		name: "idle weighted by tenant cost",
		opts: cost.Options{Idle: cost.Weighted, Shared: cost.Separate},
		mtd: []opencost.Allocation{
			alloc("pay", 6, 0), alloc("pay-api", 2, 0), alloc("web", 2, 0), alloc(opencost.KeyIdle, 5, 0),
		},
		wantMT: map[string]*TenantReport{
			"pay": {MonthToDate: m(12), LastMonth: m(100), Teams: []TeamReport{
				{Team: "pay", Costs: cost.Costs{CPU: m(8), Idle: m(4), Total: m(12)}},
				{Team: "api", Costs: cost.Costs{CPU: m(2), Idle: m(1), Total: m(3)}},
			}},
			"web": {MonthToDate: m(3), Teams: []TeamReport{{Team: "web", Costs: cost.Costs{CPU: m(2), Idle: m(1), Total: m(3)}}}},
		},
	}, {
		name: "shared namespace weighted",
		opts: cost.Options{Idle: cost.Separate, Shared: cost.Weighted, SharedNamespaces: []string{"kube-system"}},
		mtd: []opencost.Allocation{
			alloc("pay", 6, 0), alloc("pay-api", 2, 0), alloc("web", 2, 0), alloc("kube-system", 5, 0),
		},
		wantMT: map[string]*TenantReport{
			// Last month kube-system's 7 is shared too, all of it by pay.
			"pay": {MonthToDate: m(12), LastMonth: m(107), Teams: []TeamReport{
				{Team: "pay", Costs: cost.Costs{CPU: m(8), Shared: m(4), Total: m(12)}},
				{Team: "api", Costs: cost.Costs{CPU: m(2), Shared: m(1), Total: m(3)}},
			}},
			"web": {MonthToDate: m(3), Teams: []TeamReport{{Team: "web", Costs: cost.Costs{CPU: m(2), Shared: m(1), Total: m(3)}}}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oc := &fakeOpenCost{steps: map[time.Time][]opencost.Allocation{novStart: tc.mtd, octStart: lastMonth}}
			dir := BuildDirectory(testForest(t), tenants)
			got, err := Read(context.Background(), oc, dir, tc.opts, "EUR", now)
			if err != nil {
				t.Fatal(err)
			}
			want := &Report{ReadAt: now, Currency: "EUR", MonthToDate: mtdWindow, LastMonth: octWindow, Tenants: tc.wantMT}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("report (-want +got):\n%s", d)
			}
		})
	}
}

func TestReadFailsWhole(t *testing.T) {
	tenants := []tenancyv1.Tenant{*tenant("pay", 1, nil)}
	dir := BuildDirectory(testForest(t), tenants)
	oc := &fakeOpenCost{err: &opencost.BadStatusError{URL: "http://oc/allocation", Code: 500, Excerpt: "boom"}}
	rep, err := Read(context.Background(), oc, dir, cost.Options{Idle: cost.Separate, Shared: cost.Separate}, "USD", now)
	if err == nil || rep != nil {
		t.Fatalf("Read = %v, %v; want no report and an error", rep, err)
	}
	if got := opencost.Reason(err); got != opencost.ReasonBadStatus {
		t.Errorf("reason of %v = %q, want %q", err, got, opencost.ReasonBadStatus)
	}
}
