package costapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// labelled is an allocation of a member namespace as OpenCost reports it,
// with the labels the member's manager puts on it.
func labelled(ns string, total float64, tenant string, path ...string) opencost.Allocation {
	labels := map[string]string{tenancyv1.LabelTenant: tenant}
	for d, anc := range path {
		labels[anc+".tree.hnc.x-k8s.io/depth"] = string(rune('0' + len(path) - 1 - d))
	}
	return opencost.Allocation{Key: ns, CPUCost: total, TotalCost: total, NamespaceLabels: labels}
}

func fleetMembers() []FleetMember {
	return []FleetMember{
		{Cluster: "eu", OpenCost: &fakeOpenCost{allocs: []opencost.Allocation{
			labelled("pay", 1, "pay", "pay"), labelled("pay-api", 2.005, "pay", "pay", "pay-api"),
			labelled("search", 4, "search", "search"), {Key: opencost.KeyIdle, CPUCost: 0.7, TotalCost: 0.7},
		}}},
		{Cluster: "us", OpenCost: &fakeOpenCost{allocs: []opencost.Allocation{
			labelled("pay-api", 3.001, "pay", "pay", "pay-api"), {Key: "kube-system", CPUCost: 1, TotalCost: 1},
		}}},
	}
}

func TestComputeFleetCSV(t *testing.T) {
	day := period.DayOf(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	// A hub namespace named like a member's must not attribute it.
	hub := testDirectory()
	hub.Namespaces["search"] = cost.LiveNamespace{Tenant: "pay", Path: []string{"pay", "search"}}
	cb, err := ComputeFleet(context.Background(), fleetMembers(), FleetDirectory(hub),
		cost.Options{Idle: cost.Weighted, Shared: cost.Separate}, "USD", Query{Window: day})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := cb.Write(&buf, FormatCSV); err != nil {
		t.Fatal(err)
	}
	p := "2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,"
	z := "0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
	h := ",USD,0.000000,0.000000"
	want := strings.Join([]string{
		strings.Join(cost.FleetHeader, ","),
		// eu: 7.005 of tenants, 0.7 idle weighted by tenant then namespace
		p + "eu,tenant,pay,CC-1,pay,pay,pay,pay,1.00," + z + "0.10,1.10" + h,
		p + "eu,tenant,pay,CC-1,api,pay/pay-api,pay-api,pay/pay-api,2.01," + z + "0.20,2.21" + h,
		p + "eu,tenant,search,CC-2,search,search,search,search,4.00," + z + "0.40,4.40" + h,
		p + "us,tenant,pay,CC-1,api,pay/pay-api,pay-api,pay/pay-api,3.00," + z + "0.00,3.00" + h,
		p + "us,unallocated,,,,,__unallocated__,,1.00," + z + "0.00,1.00" + h,
		p + ",team_total,pay,CC-1,pay,pay,,,6.01," + z + "0.30,6.31" + h,
		p + ",team_total,pay,CC-1,api,pay/pay-api,,,5.01," + z + "0.20,5.21" + h,
		p + ",team_total,search,CC-2,search,search,,,4.00," + z + "0.40,4.40" + h,
		p + ",tenant_total,pay,CC-1,,,,,6.01," + z + "0.30,6.31" + h,
		p + ",tenant_total,search,CC-2,,,,,4.00," + z + "0.40,4.40" + h,
		p + "eu,cluster_total,,,,,,,7.01," + z + "0.70,7.71" + h,
		p + "us,cluster_total,,,,,,,4.00," + z + "0.00,4.00" + h,
		p + ",fleet_total,,,,,,,11.01," + z + "0.70,11.71" + h,
	}, "\n") + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("fleet CSV (-want +got):\n%s", diff)
	}

	// One tenant: its rows and totals only.
	cb.Tenant, cb.Summary = "pay", true
	buf.Reset()
	if err := cb.Write(&buf, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var d Document
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range d.Rows {
		got = append(got, r.Cluster+"|"+r.Line+"|"+r.TeamPath+"|"+r.Total)
	}
	wantRows := []string{"|team_total|pay|6.306286", "|team_total|pay/pay-api|5.206357", "|tenant_total||6.306286"}
	if diff := cmp.Diff(wantRows, got); diff != "" {
		t.Errorf("pay's fleet summary (-want +got):\n%s", diff)
	}
}

func TestComputeFleetFailsWhole(t *testing.T) {
	day := period.DayOf(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	opts := cost.Options{Idle: cost.Separate, Shared: cost.Separate}
	members := fleetMembers()
	members[1].OpenCost = nil
	if _, err := ComputeFleet(context.Background(), members, cost.Directory{}, opts, "USD", Query{Window: day}); !errors.As(err, new(*opencost.UnavailableError)) || !strings.Contains(err.Error(), `member "us": opencost unavailable at (none): no OpenCost URL is registered`) {
		t.Errorf("ComputeFleet without us's OpenCost = %v, want an error naming us", err)
	}
	down := &opencost.UnavailableError{Err: errors.New("connection refused")}
	members[1].OpenCost = &fakeOpenCost{err: down}
	_, err := ComputeFleet(context.Background(), members, cost.Directory{}, opts, "USD", Query{Window: day})
	if !errors.As(err, new(*opencost.UnavailableError)) || !strings.Contains(err.Error(), `member "us"`) {
		t.Errorf("ComputeFleet with us's OpenCost down = %v, want an UnavailableError naming us", err)
	}
}

// staticFleet makes "pay" a fleet Tenant on the given members.
type staticFleet []FleetMember

func (f staticFleet) FleetMembers(_ context.Context, tenant string) ([]FleetMember, bool, error) {
	if tenant != "pay" {
		return nil, false, nil
	}
	return f, true, nil
}

func TestHandlerFleetChargeback(t *testing.T) {
	// Members' namespaces resolve by their labels; the hub's own forest
	// (testDirectory's namespaces) plays no part.
	h := newTestHandler(&fakeOpenCost{allocs: testAllocations()})
	h.Fleet = staticFleet(fleetMembers())
	w := do(t, h, "alice", chargebackURL("pay", url.Values{"window": {"2026-11-01,2026-11-02"}}))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	p := "2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,"
	z := "0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
	h0 := ",USD,0.000000,0.000000"
	want := strings.Join([]string{
		strings.Join(cost.FleetHeader, ","),
		p + "eu,tenant,pay,CC-1,pay,pay,pay,pay,1.00," + z + "0.10,1.10" + h0,
		p + "eu,tenant,pay,CC-1,api,pay/pay-api,pay-api,pay/pay-api,2.01," + z + "0.20,2.21" + h0,
		p + "us,tenant,pay,CC-1,api,pay/pay-api,pay-api,pay/pay-api,3.00," + z + "0.00,3.00" + h0,
		p + ",team_total,pay,CC-1,pay,pay,,,6.01," + z + "0.30,6.31" + h0,
		p + ",team_total,pay,CC-1,api,pay/pay-api,,,5.01," + z + "0.20,5.21" + h0,
		p + ",tenant_total,pay,CC-1,,,,,6.01," + z + "0.30,6.31" + h0,
	}, "\n") + "\n"
	if diff := cmp.Diff(want, w.Body.String()); diff != "" {
		t.Errorf("fleet chargeback of pay (-want +got):\n%s", diff)
	}

	// search is not a fleet Tenant: this cluster's own CSV, unchanged.
	single := newTestHandler(&fakeOpenCost{allocs: testAllocations()})
	q := url.Values{"window": {"2026-10-01,2026-10-03"}}
	wantSingle := do(t, single, "finance", chargebackURL("search", q)).Body.String()
	if got := do(t, h, "finance", chargebackURL("search", q)).Body.String(); got != wantSingle || !strings.HasPrefix(got, strings.Join(cost.NamespaceHeader, ",")) {
		t.Errorf("a single-cluster Tenant's chargeback on a hub = %q, want %q", got, wantSingle)
	}

	// A member's OpenCost down: 503 naming it, no CSV.
	down := fleetMembers()
	down[1].OpenCost = &fakeOpenCost{err: &opencost.UnavailableError{URL: "http://us", Err: errors.New("refused")}}
	h.Fleet = staticFleet(down)
	w = do(t, h, "alice", chargebackURL("pay", url.Values{"window": {"2026-11-01,2026-11-02"}}))
	if st := status(t, w); w.Code != http.StatusServiceUnavailable || !strings.Contains(st.Message, `member "us"`) {
		t.Errorf("with us's OpenCost down: %d %q, want 503 naming us", w.Code, st.Message)
	}
}
