package cost

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// Fleet chargeback: the namespace rows of every member cluster, each
// tagged with its cluster, followed by totals across the fleet. Only a hub
// writes it; a single cluster's CSV (NamespaceCSV, TeamCSV) is unchanged.
//
// Rounding to cents is done per cluster, by largest remainder over the
// cluster's rows, exactly as NamespaceCSV rounds one cluster's report: a
// cluster's rows add up to its OpenCost total rounded to the cent. Every
// total row is the sum of the rounded rows it covers, so the CSV adds up
// to the cent in every direction, and the fleet total is the sum of the
// clusters' rounded totals.

// Lines of the totals a fleet chargeback adds.
const (
	// LineTeamTotal is one team's cost across the fleet, its descendants
	// included (nested teams overlap their parents, as in TeamCSV).
	LineTeamTotal Line = "team_total"
	// LineTenantTotal is one tenant's cost across the fleet.
	LineTenantTotal Line = "tenant_total"
	// LineClusterTotal is one cluster's cost: every row of that cluster.
	LineClusterTotal Line = "cluster_total"
	// LineFleetTotal is the cost of every cluster.
	LineFleetTotal Line = "fleet_total"
)

// FleetHeader is the header of a fleet chargeback CSV: NamespaceHeader
// with a cluster column after the period.
var FleetHeader = header("period_start", "period_end", "cluster", "line", "tenant", "cost_center", "team", "team_path", "namespace", "path")

// ClusterReport is one member cluster's report of a period.
type ClusterReport struct {
	Cluster string
	Report  *Report
}

// FleetRow is one row of a fleet chargeback. Money holds the money columns
// in CSV order, in cents or micro-units as the precision says.
type FleetRow struct {
	Cluster    string
	Line       Line
	Tenant     string
	CostCenter string
	Team       string
	TeamPath   string
	Namespace  string
	Path       string
	Money      [10]int64
	// CPUCoreHours and RAMGiBHours are exact, never rounded.
	CPUCoreHours, RAMGiBHours Micro
}

// FleetRows computes a fleet chargeback: each cluster's rows (clusters by
// name), then team totals and tenant totals (by tenant and path), then
// one total per cluster, then the fleet total. Clusters must be distinct
// and each report conserved (Report.CheckConservation).
func FleetRows(clusters []ClusterReport, prec Precision) ([]FleetRow, error) {
	clusters = slices.Clone(clusters)
	slices.SortFunc(clusters, func(a, b ClusterReport) int { return cmp.Compare(a.Cluster, b.Cluster) })
	var rows, clusterTotals []FleetRow
	type teamKey struct{ tenant, path string }
	teams := map[teamKey]*FleetRow{}
	tenants := map[string]*FleetRow{}
	fleet := FleetRow{Line: LineFleetTotal}
	for i, c := range clusters {
		if i > 0 && clusters[i-1].Cluster == c.Cluster {
			return nil, fmt.Errorf("cluster %q reported twice", c.Cluster)
		}
		if err := c.Report.CheckConservation(); err != nil {
			return nil, fmt.Errorf("cluster %q: %w", c.Cluster, err)
		}
		money := clusterMoney(c.Report, prec)
		total := FleetRow{Cluster: c.Cluster, Line: LineClusterTotal}
		for ri := range c.Report.Rows {
			src := &c.Report.Rows[ri]
			r := FleetRow{Cluster: c.Cluster, Line: src.Line, Namespace: src.Namespace, Money: money[ri],
				CPUCoreHours: src.CPUCoreHours, RAMGiBHours: src.RAMGiBHours}
			if at := src.Attribution; at != nil {
				tm := at.Team()
				r.Tenant, r.CostCenter, r.Team, r.TeamPath, r.Path = at.Tenant, at.CostCenter, tm.Name, tm.Path, at.Path
				for _, ref := range at.Teams {
					k := teamKey{at.Tenant, ref.Path}
					if teams[k] == nil {
						teams[k] = &FleetRow{Line: LineTeamTotal, Tenant: at.Tenant, CostCenter: at.CostCenter, Team: ref.Name, TeamPath: ref.Path}
					}
					teams[k].add(&r)
				}
				if tenants[at.Tenant] == nil {
					tenants[at.Tenant] = &FleetRow{Line: LineTenantTotal, Tenant: at.Tenant, CostCenter: at.CostCenter}
				}
				tenants[at.Tenant].add(&r)
			}
			total.add(&r)
			rows = append(rows, r)
		}
		fleet.add(&total)
		clusterTotals = append(clusterTotals, total)
	}
	teamRows := make([]FleetRow, 0, len(teams))
	for _, r := range teams {
		teamRows = append(teamRows, *r)
	}
	slices.SortFunc(teamRows, func(a, b FleetRow) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.TeamPath, b.TeamPath))
	})
	tenantRows := make([]FleetRow, 0, len(tenants))
	for _, r := range tenants {
		tenantRows = append(tenantRows, *r)
	}
	slices.SortFunc(tenantRows, func(a, b FleetRow) int { return cmp.Compare(a.Tenant, b.Tenant) })
	rows = append(rows, teamRows...)
	rows = append(rows, tenantRows...)
	rows = append(rows, clusterTotals...)
	return append(rows, fleet), nil
}

func (r *FleetRow) add(o *FleetRow) {
	for i := range r.Money {
		r.Money[i] += o.Money[i]
	}
	r.CPUCoreHours += o.CPUCoreHours
	r.RAMGiBHours += o.RAMGiBHours
}

// clusterMoney returns each row's money columns: exact micro-units, or
// cents rounded by largest remainder over the cluster's rows per column.
func clusterMoney(rep *Report, prec Precision) [][10]int64 {
	out := make([][10]int64, len(rep.Rows))
	var values []Micro
	var cents []Cents
	for j, col := range moneyColumns {
		values = values[:0]
		for i := range rep.Rows {
			values = append(values, col.get(&rep.Rows[i].Costs))
		}
		if prec == PrecisionMicros {
			for i, v := range values {
				out[i][j] = int64(v)
			}
			continue
		}
		cents = RoundCents(values, cents)
		for i, c := range cents {
			out[i][j] = int64(c)
		}
	}
	return out
}

// WriteFleetCSV writes a fleet chargeback of window w as CSV.
func WriteFleetCSV(out io.Writer, opts CSVOptions, w period.Window, rows []FleetRow) error {
	c := newCSVWriter(out, opts, FleetHeader)
	if err := c.start(); err != nil {
		return err
	}
	start, end := formatTime(w.Start), formatTime(w.End)
	for i := range rows {
		r := &rows[i]
		c.record = append(c.record[:0], start, end, r.Cluster, string(r.Line), r.Tenant, r.CostCenter, r.Team, r.TeamPath, r.Namespace, r.Path)
		for _, m := range r.Money {
			if opts.Precision == PrecisionCents {
				c.record = append(c.record, Cents(m).String())
			} else {
				c.record = append(c.record, Micro(m).String())
			}
		}
		c.record = append(c.record, opts.Currency, r.CPUCoreHours.String(), r.RAMGiBHours.String())
		if err := c.w.Write(c.record); err != nil {
			return fmt.Errorf("writing fleet CSV row for %q in %q: %w", r.Namespace, r.Cluster, err)
		}
	}
	return c.flush()
}
