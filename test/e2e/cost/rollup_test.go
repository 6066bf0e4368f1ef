package cost

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// directory is the attribution view of this test's world, written out by
// hand: it is what the cost controller builds from the forest.
func directory() cost.Directory {
	dir := cost.Directory{Tenants: map[string]cost.Tenant{}, Namespaces: map[string]cost.LiveNamespace{}}
	for _, t := range tenants() {
		dir.Tenants[t.Name] = cost.TenantFromAPI(t)
	}
	for ns, path := range map[string][]string{
		"payments":             {"payments"},
		"payments-api":         {"payments", "payments-api"},
		"payments-api-staging": {"payments", "payments-api", "payments-api-staging"},
		"payments-batch":       {"payments", "payments-batch"},
		"search":               {"search"},
		"search-index":         {"search", "search-index"},
		"search-query":         {"search", "search-query"},
	} {
		dir.Namespaces[ns] = cost.LiveNamespace{Tenant: path[0], Path: path}
	}
	for _, ns := range []string{sharedNamespace, unattributedNamespace, "default", "kube-system", "kube-public", "kube-node-lease", "canopy-system"} {
		dir.Namespaces[ns] = cost.LiveNamespace{Path: []string{ns}}
	}
	return dir
}

// rolled is one window read from OpenCost and rolled up under one policy.
type rolled struct {
	summary []cost.SummaryRow
	reports []cost.Report // namespace-level, one per step
	csv     string        // namespace-level chargeback CSV, cents
	teamCSV string        // per-team summary CSV, cents
	// openCostTotal is the sum of totalCost over every key OpenCost
	// returned, summed independently of the roll-up.
	openCostTotal cost.Micro
}

func rollUp(ctx context.Context, t *testing.T, oc opencost.Client, w period.Window, opts cost.Options) rolled {
	t.Helper()
	roller, err := cost.NewRoller(directory(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var out rolled
	var nsCSV, teamCSV strings.Builder
	csvOpts := cost.CSVOptions{Currency: "USD", Precision: cost.PrecisionCents}
	nw := cost.NewNamespaceCSV(&nsCSV, csvOpts)
	sum := cost.NewTeamSummary(w)
	if _, err := oc.Allocations(ctx, w, func(s *opencost.Step) error {
		for i := range s.Allocations {
			m, _, err := cost.FromFloat(s.Allocations[i].TotalCost)
			if err != nil {
				return err
			}
			out.openCostTotal += m
		}
		rep, err := roller.Step(s)
		if err != nil {
			return err
		}
		sum.Add(rep)
		cp := *rep
		cp.Rows = append([]cost.Row(nil), rep.Rows...)
		out.reports = append(out.reports, cp)
		return nw.WriteReport(rep)
	}); err != nil {
		t.Fatalf("reading %s from OpenCost with %+v: %v", w, opts, err)
	}
	if err := nw.Close(); err != nil {
		t.Fatal(err)
	}
	out.summary = sum.Rows()
	tw := cost.NewTeamCSV(&teamCSV, csvOpts)
	if err := tw.WriteSummary(w, out.summary); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	out.csv, out.teamCSV = nsCSV.String(), teamCSV.String()
	return out
}

// summaryKey names a summary row: "tenant:payments/payments-api",
// "shared:monitoring", "idle:__idle__", "unallocated:__unallocated__".
func summaryKey(r cost.SummaryRow) string {
	if r.Line == cost.LineTenant {
		return "tenant:" + r.TeamPath
	}
	return fmt.Sprintf("%s:%s", r.Line, r.Namespace)
}
