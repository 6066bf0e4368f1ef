package cost

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/cost/opencost"
)

const totalCol = 9 // total_cost in FleetRow.Money

func TestFleetCSV(t *testing.T) {
	eu := rollTestStep(t, Options{Idle: Weighted, Shared: Separate, SharedNamespaces: []string{"kube-system"}})
	r, err := NewRoller(testDirectory(), Options{Idle: Separate, Shared: Separate})
	if err != nil {
		t.Fatal(err)
	}
	us, err := r.Step(&opencost.Step{Window: day1, Allocations: []opencost.Allocation{
		alloc("payments-api", 1.005, nil), alloc("search", 2.001, nil), alloc("__idle__", 0.004, nil),
	}})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := FleetRows([]ClusterReport{{"us", us}, {"eu", eu}}, PrecisionCents)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteFleetCSV(&buf, CSVOptions{Currency: "USD"}, day1, rows); err != nil {
		t.Fatal(err)
	}
	z := "0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
	h := ",USD,0.000000,0.000000"
	want := strings.Join([]string{
		strings.Join(FleetHeader, ","),
		csvPeriod + "eu,tenant,payments,CC-100,payments,payments,payments,payments,10.00," + z + "3.00,13.00" + h,
		csvPeriod + "eu,tenant,payments,CC-100,api,payments/payments-api,payments-api,payments/payments-api,20.00," + z + "6.00,26.00" + h,
		csvPeriod + "eu,tenant,payments,CC-100,api,payments/payments-api,payments-api-staging,payments/payments-api/payments-api-staging,5.00," + z + "1.50,6.50" + h,
		csvPeriod + "eu,tenant,payments,CC-100,payments,payments,payments-old,payments/payments-old,5.00," + z + "1.50,6.50" + h,
		csvPeriod + "eu,tenant,search,CC-200,search,search,search,search,60.00," + z + "18.00,78.00" + h,
		csvPeriod + "eu,shared,,,,,kube-system,,10.00," + z + "0.00,10.00" + h,
		csvPeriod + "eu,unallocated,,,,,__unallocated__,,5.00," + z + "0.00,5.00" + h,
		// 1.005 + 2.001 + 0.004 = 3.01: largest remainder gives payments-api
		// the cent that half-up rounding of each row would lose.
		csvPeriod + "us,tenant,payments,CC-100,api,payments/payments-api,payments-api,payments/payments-api,1.01," + z + "0.00,1.01" + h,
		csvPeriod + "us,tenant,search,CC-200,search,search,search,search,2.00," + z + "0.00,2.00" + h,
		csvPeriod + "us,idle,,,,,__idle__,,0.00," + z + "0.00,0.00" + h,
		csvPeriod + ",team_total,payments,CC-100,payments,payments,,,41.01," + z + "12.00,53.01" + h,
		csvPeriod + ",team_total,payments,CC-100,api,payments/payments-api,,,26.01," + z + "7.50,33.51" + h,
		csvPeriod + ",team_total,search,CC-200,search,search,,,62.00," + z + "18.00,80.00" + h,
		csvPeriod + ",tenant_total,payments,CC-100,,,,,41.01," + z + "12.00,53.01" + h,
		csvPeriod + ",tenant_total,search,CC-200,,,,,62.00," + z + "18.00,80.00" + h,
		csvPeriod + "eu,cluster_total,,,,,,,115.00," + z + "30.00,145.00" + h,
		csvPeriod + "us,cluster_total,,,,,,,3.01," + z + "0.00,3.01" + h,
		csvPeriod + ",fleet_total,,,,,,,118.01," + z + "30.00,148.01" + h,
	}, "\n") + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("fleet CSV (-want +got):\n%s", diff)
	}
}

func TestFleetRowsRejectsDuplicateAndUnconservedClusters(t *testing.T) {
	rep := rollTestStep(t, Options{Idle: Separate, Shared: Separate})
	if _, err := FleetRows([]ClusterReport{{"a", rep}, {"a", rep}}, PrecisionCents); err == nil {
		t.Error("FleetRows accepted a cluster twice")
	}
	bad := *rep
	bad.OpenCostTotal++
	if _, err := FleetRows([]ClusterReport{{"a", &bad}}, PrecisionCents); err == nil || !strings.Contains(err.Error(), `cluster "a"`) {
		t.Errorf("FleetRows on an unconserved report = %v, want an error naming the cluster", err)
	}
}

// TestFleetConservation checks, for random fleets of one to four clusters,
// that in cents every cluster's rows add up to its OpenCost total rounded
// to the cent, that the tenant and root team totals are the sums of their
// rows, that the fleet total is the sum of the cluster totals, and, in
// micro-units, that everything is exact.
func TestFleetConservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for iter := range 300 {
		var clusters []ClusterReport
		var exact Micro
		for ci := range 1 + rng.IntN(4) {
			dir, shared, step, _, _ := randomCase(rng)
			pol := []Policy{Separate, Weighted, Even}
			r, err := NewRoller(dir, Options{Idle: pol[rng.IntN(3)], Shared: pol[rng.IntN(3)], SharedNamespaces: shared})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := r.Step(step)
			if err != nil {
				t.Fatal(err)
			}
			clusters = append(clusters, ClusterReport{Cluster: fmt.Sprintf("c%d", ci), Report: rep})
			exact += rep.OpenCostTotal
		}
		for _, prec := range []Precision{PrecisionCents, PrecisionMicros} {
			name := fmt.Sprintf("case %d precision %d", iter, prec)
			rows, err := FleetRows(clusters, prec)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			clusterRows := map[string][10]int64{}
			clusterTotals := map[string][10]int64{}
			tenantRows := map[string][10]int64{}
			tenantTotals := map[string][10]int64{}
			rootTeams := map[string][10]int64{}
			var nonTenant, fleet, sumClusterTotals [10]int64
			add := func(m map[string][10]int64, k string, v [10]int64) {
				s := m[k]
				for i := range v {
					s[i] += v[i]
				}
				m[k] = s
			}
			addTo := func(s *[10]int64, v [10]int64) {
				for i := range v {
					s[i] += v[i]
				}
			}
			for _, r := range rows {
				switch r.Line {
				case LineTeamTotal:
					if !strings.Contains(r.TeamPath, "/") {
						add(rootTeams, r.Tenant, r.Money)
					}
				case LineTenantTotal:
					tenantTotals[r.Tenant] = r.Money
				case LineClusterTotal:
					clusterTotals[r.Cluster] = r.Money
					addTo(&sumClusterTotals, r.Money)
				case LineFleetTotal:
					fleet = r.Money
				default:
					add(clusterRows, r.Cluster, r.Money)
					if r.Line == LineTenant {
						add(tenantRows, r.Tenant, r.Money)
					} else {
						addTo(&nonTenant, r.Money)
					}
				}
			}
			for _, c := range clusters {
				want := int64(c.Report.OpenCostTotal)
				if prec == PrecisionCents {
					want = int64(RoundCent(c.Report.OpenCostTotal))
				}
				if got := clusterTotals[c.Cluster][totalCol]; got != want {
					t.Fatalf("%s: cluster %s total %d, want %d", name, c.Cluster, got, want)
				}
				if diff := cmp.Diff(clusterTotals[c.Cluster], clusterRows[c.Cluster]); diff != "" {
					t.Fatalf("%s: cluster %s rows do not add up to its total (-total +rows):\n%s", name, c.Cluster, diff)
				}
			}
			if diff := cmp.Diff(tenantRows, tenantTotals); diff != "" {
				t.Fatalf("%s: tenant totals (-rows +totals):\n%s", name, diff)
			}
			if diff := cmp.Diff(tenantTotals, rootTeams); diff != "" {
				t.Fatalf("%s: root team totals (-tenant +teams):\n%s", name, diff)
			}
			if fleet != sumClusterTotals {
				t.Fatalf("%s: fleet total %v, clusters sum to %v", name, fleet, sumClusterTotals)
			}
			var tenantsAndLines [10]int64
			for _, v := range tenantTotals {
				addTo(&tenantsAndLines, v)
			}
			addTo(&tenantsAndLines, nonTenant)
			if tenantsAndLines != fleet {
				t.Fatalf("%s: tenants and other lines sum to %v, fleet total %v", name, tenantsAndLines, fleet)
			}
			if prec == PrecisionMicros && fleet[totalCol] != int64(exact) {
				t.Fatalf("%s: exact fleet total %d, want %d", name, fleet[totalCol], exact)
			}
			if prec == PrecisionCents {
				// Each cluster is off by at most half a cent.
				if d := fleet[totalCol]*10_000 - int64(exact); d > int64(len(clusters))*5_000 || d < -int64(len(clusters))*5_000 {
					t.Fatalf("%s: fleet total %d cents is %d micro-units from the exact %d", name, fleet[totalCol], d, exact)
				}
			}

			var buf bytes.Buffer
			if err := WriteFleetCSV(&buf, CSVOptions{Currency: "USD", Precision: prec}, day1, rows); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&buf).ReadAll()
			if err != nil || len(recs) != len(rows)+1 {
				t.Fatalf("%s: CSV has %d records (%v), want %d", name, len(recs), err, len(rows)+1)
			}
		}
	}
}
