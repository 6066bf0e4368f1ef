package cost

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"strings"
	"testing"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
)

// checkFleet runs the hub's fleet chargeback (costapi.ComputeFleet) over
// the members' own OpenCost instances, reached over HTTP as a hub reaches
// them. Each member's rows must be, column for column, that member's
// single-cluster chargeback computed from its own OpenCost alone; each
// cluster_total must be that OpenCost's total rounded to the cent, and the
// fleet_total their sum. The members' totals and rows must differ, so that
// neither could have been read from the other's OpenCost. Attributed as a
// hub does, by the labels each OpenCost reports only, the rows must be the
// same.
func checkFleet(ctx context.Context, t *testing.T, members []*memberCost, day period.Window) {
	opts := cost.Options{Idle: cost.Weighted, Shared: cost.Weighted, SharedNamespaces: []string{sharedNamespace}}
	var fleetMembers []costapi.FleetMember
	wantRows := map[string]string{}
	wantTotals := map[string]string{}
	var fleetCents cost.Cents
	for _, m := range members {
		hc, err := opencost.NewHTTPClient(m.openCost)
		if err != nil {
			t.Fatal(err)
		}
		fleetMembers = append(fleetMembers, costapi.FleetMember{Cluster: m.cluster, OpenCost: hc})
		single, err := costapi.Compute(ctx, hc, directory(), opts, "USD", costapi.Query{Window: day})
		if err != nil {
			t.Fatalf("%s: %v", m.cluster, err)
		}
		if got, want := single.Report.OpenCostTotal.Float(), float64(m.dailyCost()); math.Abs(got-want) > tolerance {
			t.Errorf("%s: its OpenCost's total = %.6f, want %.0f (its node's cost)", m.cluster, got, want)
		}
		var singleCSV bytes.Buffer
		if err := single.WriteCSV(&singleCSV); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&singleCSV).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, rec := range recs[1:] {
			rows = append(rows, strings.Join(rec, ","))
		}
		wantRows[m.cluster] = strings.Join(rows, "\n")
		cents := cost.RoundCent(single.Report.OpenCostTotal)
		wantTotals[m.cluster] = cents.String()
		fleetCents += cents
	}
	wantTotals["fleet"] = fleetCents.String()
	a, b := members[0].cluster, members[1].cluster
	if wantTotals[a] == wantTotals[b] || wantRows[a] == wantRows[b] {
		t.Fatalf("%s and %s cost the same (%s), so the fleet chargeback could not tell their OpenCost instances apart", a, b, wantTotals[a])
	}

	cb, err := costapi.ComputeFleet(ctx, fleetMembers, directory(), opts, "USD", costapi.Query{Window: day})
	if err != nil {
		t.Fatal(err)
	}
	var fleetCSV bytes.Buffer
	if err := cb.WriteCSV(&fleetCSV); err != nil {
		t.Fatal(err)
	}
	fleetText := fleetCSV.String()
	fleetRecs, err := csv.NewReader(&fleetCSV).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := fleetRecs[0]; strings.Join(got, ",") != strings.Join(cost.FleetHeader, ",") {
		t.Errorf("header = %v", got)
	}
	const clusterCol = 2
	perCluster := map[string][]string{}
	totals := map[string]string{}
	for _, rec := range fleetRecs[1:] {
		switch rec[clusterCol+1] {
		case string(cost.LineClusterTotal):
			totals[rec[clusterCol]] = rec[len(rec)-4]
		case string(cost.LineFleetTotal):
			totals["fleet"] = rec[len(rec)-4]
		case string(cost.LineTeamTotal), string(cost.LineTenantTotal):
		default:
			without := append(append([]string(nil), rec[:clusterCol]...), rec[clusterCol+1:]...)
			perCluster[rec[clusterCol]] = append(perCluster[rec[clusterCol]], strings.Join(without, ","))
		}
	}
	for _, m := range members {
		if got := strings.Join(perCluster[m.cluster], "\n"); got != wantRows[m.cluster] {
			t.Errorf("%s's fleet rows differ from its own single-cluster chargeback:\n got %s\nwant %s", m.cluster, got, wantRows[m.cluster])
		}
	}
	if len(perCluster) != len(members) {
		t.Errorf("fleet rows name clusters %v, want only the %d members", keys(perCluster), len(members))
	}
	// Conservation to the cent: each member's cluster_total is its
	// OpenCost's total rounded to the cent, and the fleet_total their sum.
	for k, want := range wantTotals {
		if totals[k] != want {
			t.Errorf("%s total = %q, want %s", k, totals[k], want)
		}
	}

	// On a hub, member namespaces are attributed by the labels OpenCost
	// reports for them only (costapi.FleetDirectory): the same rows.
	byLabels, err := costapi.ComputeFleet(ctx, fleetMembers, costapi.FleetDirectory(directory()), opts, "USD", costapi.Query{Window: day})
	if err != nil {
		t.Fatal(err)
	}
	var labelsCSV bytes.Buffer
	if err := byLabels.WriteCSV(&labelsCSV); err != nil {
		t.Fatal(err)
	}
	if labelsCSV.String() != fleetText {
		t.Errorf("attributed by labels only, the fleet CSV differs:\n got %s\nwant %s", labelsCSV.String(), fleetText)
	}
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
