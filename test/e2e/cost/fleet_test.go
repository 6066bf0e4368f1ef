package cost

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/test/integration/framework"
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
	opts := fleetOptions()
	var fleetMembers []costapi.FleetMember
	wantRows := map[string]string{}
	wantTotals := map[string]string{}
	var fleetCents cost.Cents
	for _, m := range members {
		hc, own := singleChargeback(ctx, t, m, day)
		fleetMembers = append(fleetMembers, costapi.FleetMember{Cluster: m.cluster, OpenCost: hc})
		wantRows[m.cluster] = strings.Join(own.rows, "\n")
		cents := cost.RoundCent(own.openCostTotal)
		wantTotals[m.cluster] = cents.String()
		fleetCents += cents
	}
	wantTotals["fleet"] = fleetCents.String()
	a, b := members[0].cluster, members[1].cluster
	if wantTotals[a] == wantTotals[b] || wantRows[a] == wantRows[b] {
		t.Fatalf("%s and %s have the same total (%s, %s) or the same rows, so the fleet chargeback could not tell their OpenCost instances apart",
			a, b, wantTotals[a], wantTotals[b])
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

// fleetOptions are the roll-up options of the fleet chargebacks, the
// hub's flags in startHub: idle and shared cost spread by weight, within
// the cluster that incurred them.
func fleetOptions() cost.Options {
	return cost.Options{Idle: cost.Weighted, Shared: cost.Weighted, SharedNamespaces: []string{sharedNamespace}}
}

// single is one member's own single-cluster chargeback of a window.
type single struct {
	// records is its CSV, header first; rows, each row's fields joined by
	// commas.
	records [][]string
	rows    []string
	// openCostTotal is its OpenCost's total.
	openCostTotal cost.Micro
}

// singleChargeback computes m's single-cluster chargeback of day from its
// own OpenCost alone, checking that OpenCost's total is m's node's cost,
// and returns the HTTP client it read through.
func singleChargeback(ctx context.Context, t *testing.T, m *memberCost, day period.Window) (*opencost.HTTPClient, single) {
	t.Helper()
	hc, err := opencost.NewHTTPClient(m.openCost)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := costapi.Compute(ctx, hc, directory(), fleetOptions(), "USD", costapi.Query{Window: day})
	if err != nil {
		t.Fatalf("%s: %v", m.cluster, err)
	}
	if got, want := cb.Report.OpenCostTotal.Float(), float64(m.dailyCost()); math.Abs(got-want) > tolerance {
		t.Errorf("%s: its OpenCost's total = %.6f, want %.0f (its node's cost)", m.cluster, got, want)
	}
	var buf bytes.Buffer
	if err := cb.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := single{records: recs, openCostTotal: cb.Report.OpenCostTotal}
	for _, rec := range recs[1:] {
		out.rows = append(out.rows, strings.Join(rec, ","))
	}
	return hc, out
}

// checkHubChargeback reads payments' fleet chargeback through the hub's
// kube-apiserver as the hub's finance user: the hub's manager computes it
// from the OpenCost each member's registration names (member A's
// ClusterProfile property, member B's Secret key). Its rows of each member
// must be, column for column, payments' rows of that member's own
// single-cluster chargeback, and its tenant_total their sum to the cent.
func checkHubChargeback(t *testing.T, hub *site, members []*memberCost, day period.Window) {
	const tenant = "payments"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wantRows := map[string]string{}
	var wantTotal cost.Cents
	for _, m := range members {
		_, own := singleChargeback(ctx, t, m, day)
		var rows []string
		for _, rec := range own.records[1:] {
			if rec[3] == tenant { // period_start, period_end, line, tenant
				rows = append(rows, strings.Join(rec, ","))
				wantTotal += parseCents(t, rec[len(rec)-4])
			}
		}
		if len(rows) == 0 {
			t.Fatalf("%s: no rows of %s in its own chargeback", m.cluster, tenant)
		}
		wantRows[m.cluster] = strings.Join(rows, "\n")
	}

	cfg := financeConfig(t, hub)
	window := day.Start.Format(time.RFC3339) + "," + day.End.Format(time.RFC3339)
	var body []byte
	framework.Eventually(t, time.Minute, func(ctx context.Context) error {
		var err error
		if body, err = apiGet(ctx, cfg, costapi.ChargebackPath(tenant), window); err != nil {
			return fmt.Errorf("%w: %s", err, body)
		}
		return nil
	})
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the hub's chargeback is not CSV: %v\n%s", err, body)
	}
	if got := strings.Join(recs[0], ","); got != strings.Join(cost.FleetHeader, ",") {
		t.Fatalf("the hub's chargeback is not a fleet chargeback: header %s", got)
	}
	const clusterCol = 2
	perCluster := map[string][]string{}
	total := ""
	for _, rec := range recs[1:] {
		switch rec[clusterCol+1] {
		case string(cost.LineTenantTotal):
			total = rec[len(rec)-4]
		case string(cost.LineTeamTotal):
		default:
			without := append(append([]string(nil), rec[:clusterCol]...), rec[clusterCol+1:]...)
			perCluster[rec[clusterCol]] = append(perCluster[rec[clusterCol]], strings.Join(without, ","))
		}
	}
	for _, m := range members {
		if got := strings.Join(perCluster[m.cluster], "\n"); got != wantRows[m.cluster] {
			t.Errorf("%s's rows in the hub's chargeback differ from its own:\n got %s\nwant %s", m.cluster, got, wantRows[m.cluster])
		}
	}
	if len(perCluster) != len(members) {
		t.Errorf("the hub's chargeback has rows of clusters %v, want only the %d members'", keys(perCluster), len(members))
	}
	if total != wantTotal.String() {
		t.Errorf("%s tenant_total = %q, want %s (the members' rows summed)", tenant, total, wantTotal)
	}

	// payments' owner, a hub user with no other grant, reads the same
	// fleet chargeback and is refused search's.
	pat, err := hub.lc.CP.AddUser("pat")
	if err != nil {
		t.Fatal(err)
	}
	var own []byte
	framework.Eventually(t, time.Minute, func(ctx context.Context) error {
		var err error
		if own, err = apiGet(ctx, pat, costapi.ChargebackPath(tenant), window); err != nil {
			return fmt.Errorf("payments' owner reading its fleet chargeback on the hub: %w: %s", err, own)
		}
		return nil
	})
	if !bytes.Equal(own, body) {
		t.Errorf("payments' owner read another chargeback than finance:\n got %s\nwant %s", own, body)
	}
	if other, err := apiGet(ctx, pat, costapi.ChargebackPath("search"), window); !apierrors.IsForbidden(err) {
		t.Errorf("payments' owner reading search's fleet chargeback on the hub: got %v (%s), want Forbidden", err, other)
	}
}

// parseCents reads an amount written in cents, "12.34".
func parseCents(t *testing.T, s string) cost.Cents {
	t.Helper()
	whole, frac, ok := strings.Cut(s, ".")
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if !ok || len(frac) != 2 || err1 != nil || err2 != nil || strings.HasPrefix(s, "-") {
		t.Fatalf("amount %q is not in whole cents", s)
	}
	return cost.Cents(w*100 + f)
}
