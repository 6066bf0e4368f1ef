package cost

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
)

// checkFleet runs the hub's fleet chargeback over real OpenCost answers:
// the one OpenCost of this test stands for two members (a second real
// instance is not started here). Each member's rows must be, column for
// column, this cluster's single-cluster chargeback, and the totals must be
// conserved to the cent per member and in total. Attributed as a hub does,
// by the labels OpenCost reports only, the rows must be the same.
func checkFleet(ctx context.Context, t *testing.T, oc string, day period.Window) {
	hc, err := opencost.NewHTTPClient(oc)
	if err != nil {
		t.Fatal(err)
	}
	opts := cost.Options{Idle: cost.Weighted, Shared: cost.Weighted, SharedNamespaces: []string{"monitoring"}}
	single, err := costapi.Compute(ctx, hc, directory(), opts, "USD", costapi.Query{Window: day})
	if err != nil {
		t.Fatal(err)
	}
	var singleCSV bytes.Buffer
	if err := single.WriteCSV(&singleCSV); err != nil {
		t.Fatal(err)
	}
	members := []costapi.FleetMember{{Cluster: "member-b", OpenCost: hc}, {Cluster: "member-a", OpenCost: hc}}
	cb, err := costapi.ComputeFleet(ctx, members, directory(), opts, "USD", costapi.Query{Window: day})
	if err != nil {
		t.Fatal(err)
	}
	var fleetCSV bytes.Buffer
	if err := cb.WriteCSV(&fleetCSV); err != nil {
		t.Fatal(err)
	}
	fleetText := fleetCSV.String()
	singleRecs, err := csv.NewReader(&singleCSV).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	fleetRecs, err := csv.NewReader(&fleetCSV).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	const clusterCol = 2
	perCluster := map[string][]string{}
	totals := map[string]string{}
	for _, rec := range fleetRecs[1:] {
		line := rec[clusterCol+1]
		switch line {
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
	var want []string
	for _, rec := range singleRecs[1:] {
		want = append(want, strings.Join(rec, ","))
	}
	for _, m := range []string{"member-a", "member-b"} {
		if got := strings.Join(perCluster[m], "\n"); got != strings.Join(want, "\n") {
			t.Errorf("%s's fleet rows differ from the single-cluster chargeback:\n got %s\nwant %s", m, got, strings.Join(want, "\n"))
		}
	}

	// Conservation to the cent: each member's total is OpenCost's total
	// rounded to the cent, and the fleet's is their sum.
	rep := single.Report
	clusterCents := cost.RoundCent(rep.OpenCostTotal)
	for _, m := range []string{"member-a", "member-b"} {
		if totals[m] != clusterCents.String() {
			t.Errorf("%s cluster_total = %s, want %s", m, totals[m], clusterCents)
		}
	}
	if want := (2 * clusterCents).String(); totals["fleet"] != want {
		t.Errorf("fleet_total = %s, want %s", totals["fleet"], want)
	}
	// On a hub, member namespaces are attributed by the labels OpenCost
	// reports for them only (costapi.FleetDirectory): the same rows.
	byLabels, err := costapi.ComputeFleet(ctx, members, costapi.FleetDirectory(directory()), opts, "USD", costapi.Query{Window: day})
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
	if got := fleetRecs[0]; strings.Join(got, ",") != strings.Join(cost.FleetHeader, ",") {
		t.Errorf("header = %v", got)
	}
}
