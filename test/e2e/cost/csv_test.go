package cost

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// checkCSV compares the chargeback CSVs (namespace rows and per-team
// summary) of one day with both idle and shared cost weighted, worked out
// by hand:
//
//   - shared 6 goes 4:2 to the tenants, idle 78 goes 52:26;
//   - within payments (12:6:18) the shares are 4/3, 2/3, 2 and 52/3,
//     26/3, 26, in micro-units by largest remainder (the odd unit to
//     staging, whose remainder is larger);
//   - each money column is rounded to cents by largest remainder over
//     the day's rows, so the cents still add up: total 30.67 + 15.33.
func checkCSV(t *testing.T, day period.Window, r rolled) {
	t.Helper()
	p := day.Start.UTC().Format(time.RFC3339) + "," + day.End.UTC().Format(time.RFC3339) + ","
	want := "period_start,period_end,line,tenant,cost_center,team,team_path,namespace,path," +
		"cpu_cost,ram_cost,gpu_cost,pv_cost,network_cost,load_balancer_cost,external_cost,shared_cost,idle_cost,total_cost,currency,cpu_core_hours,ram_gib_hours\n" +
		p + "tenant,payments,CC-1042,api,payments/payments-api,payments-api,payments/payments-api," +
		"6.00,6.00,0.00,0.00,0.00,0.00,0.00,1.33,17.33,30.67,USD,24.000000,48.000000\n" +
		p + "tenant,payments,CC-1042,api,payments/payments-api,payments-api-staging,payments/payments-api/payments-api-staging," +
		"3.00,3.00,0.00,0.00,0.00,0.00,0.00,0.67,8.67,15.33,USD,12.000000,24.000000\n" +
		p + "tenant,payments,CC-1042,payments,payments,payments-batch,payments/payments-batch," +
		"6.00,12.00,0.00,0.00,0.00,0.00,0.00,2.00,26.00,46.00,USD,24.000000,96.000000\n" +
		p + "tenant,search,CC-2077,index,search/search-index,search-index,search/search-index," +
		"6.00,3.00,0.00,0.00,0.00,0.00,0.00,1.00,13.00,23.00,USD,24.000000,24.000000\n" +
		p + "tenant,search,CC-2077,search,search,search-query,search/search-query," +
		"3.00,6.00,0.00,0.00,0.00,0.00,0.00,1.00,13.00,23.00,USD,12.000000,48.000000\n" +
		p + "unallocated,,,,,__unallocated__,," +
		"3.00,3.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,6.00,USD,12.000000,24.000000\n"
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(r.csv, "\n")); diff != "" {
		t.Errorf("namespace chargeback CSV (-want +got):\n%s", diff)
	}

	// The per-team summary: each team includes its descendants (api is
	// payments-api and its staging child).
	want = "period_start,period_end,line,tenant,cost_center,team,team_path,namespace," +
		"cpu_cost,ram_cost,gpu_cost,pv_cost,network_cost,load_balancer_cost,external_cost,shared_cost,idle_cost,total_cost,currency,cpu_core_hours,ram_gib_hours\n" +
		p + "tenant,payments,CC-1042,payments,payments,," +
		"15.00,21.00,0.00,0.00,0.00,0.00,0.00,4.00,52.00,92.00,USD,60.000000,168.000000\n" +
		p + "tenant,payments,CC-1042,api,payments/payments-api,," +
		"9.00,9.00,0.00,0.00,0.00,0.00,0.00,2.00,26.00,46.00,USD,36.000000,72.000000\n" +
		p + "tenant,search,CC-2077,search,search,," +
		"9.00,9.00,0.00,0.00,0.00,0.00,0.00,2.00,26.00,46.00,USD,36.000000,72.000000\n" +
		p + "tenant,search,CC-2077,index,search/search-index,," +
		"6.00,3.00,0.00,0.00,0.00,0.00,0.00,1.00,13.00,23.00,USD,24.000000,24.000000\n" +
		p + "unallocated,,,,,__unallocated__," +
		"3.00,3.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,6.00,USD,12.000000,24.000000\n"
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(r.teamCSV, "\n")); diff != "" {
		t.Errorf("per-team chargeback CSV (-want +got):\n%s", diff)
	}
}
