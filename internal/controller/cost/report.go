package cost

import (
	"context"
	"fmt"
	"time"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/forest"
)

// Report is one successful read of both windows, for every tenant.
type Report struct {
	// ReadAt is when OpenCost was read.
	ReadAt   time.Time
	Currency string
	// MonthToDate and LastMonth are the windows read.
	MonthToDate, LastMonth period.Window
	// Tenants by name. A tenant with no cost in either window is present
	// with zero amounts.
	Tenants map[string]*TenantReport
}

// TenantReport is one tenant's spend.
type TenantReport struct {
	// MonthToDate and LastMonth are the tenant's totals (its root team,
	// descendants and shares of idle and shared cost included).
	MonthToDate, LastMonth cost.Micro
	// Teams are the month-to-date costs of each team, the tenant's own
	// team (named after the tenant) first.
	Teams []TeamReport
}

// TeamReport is one team's month-to-date costs.
type TeamReport struct {
	Team string
	cost.Costs
}

// BuildDirectory is the attribution view of tenants and the live forest.
// It locks the forest. Every existing namespace is listed with its path
// from its tree's root; the namespaces under a Tenant's root namespace
// (named after the Tenant) belong to that Tenant, the outermost one if
// several are nested.
func BuildDirectory(f *forest.Forest, tenants []tenancyv1.Tenant) cost.Directory {
	dir := cost.Directory{Tenants: map[string]cost.Tenant{}, Namespaces: map[string]cost.LiveNamespace{}}
	for i := range tenants {
		dir.Tenants[tenants[i].Name] = cost.TenantFromAPI(&tenants[i])
	}
	f.Lock()
	defer f.Unlock()
	for _, name := range f.List() {
		ns := f.Lookup(name)
		if !ns.Exists() {
			continue
		}
		path := ns.AncestryNames()
		live := cost.LiveNamespace{Path: path}
		for i, p := range path {
			if _, ok := dir.Tenants[p]; ok {
				live = cost.LiveNamespace{Tenant: p, Path: path[i:]}
				break
			}
		}
		dir.Namespaces[name] = live
	}
	return dir
}

// Read reads the month-to-date and last-month windows at now (UTC) and
// rolls them up. It returns an error, and no report, if anything failed.
func Read(ctx context.Context, c opencost.Client, dir cost.Directory, opts cost.Options, currency string, now time.Time) (*Report, error) {
	now = now.UTC()
	rep := &Report{ReadAt: now, Currency: currency, Tenants: map[string]*TenantReport{}}
	for name := range dir.Tenants {
		rep.Tenants[name] = &TenantReport{}
	}
	var err error
	if rep.MonthToDate, err = period.ParseWindow("mtd", now); err != nil {
		return nil, fmt.Errorf("month-to-date window: %w", err)
	}
	if rep.LastMonth, err = period.ParseWindow("lastmonth", now); err != nil {
		return nil, fmt.Errorf("last-month window: %w", err)
	}
	mtd, err := summarize(ctx, c, dir, opts, rep.MonthToDate)
	if err != nil {
		return nil, fmt.Errorf("reading month to date (%s): %w", rep.MonthToDate, err)
	}
	last, err := summarize(ctx, c, dir, opts, rep.LastMonth)
	if err != nil {
		return nil, fmt.Errorf("reading last month (%s): %w", rep.LastMonth, err)
	}
	for _, row := range mtd {
		tr := rep.Tenants[row.Tenant]
		if row.Line != cost.LineTenant || tr == nil {
			continue
		}
		if row.Team == row.Tenant && row.TeamPath == row.Tenant {
			tr.MonthToDate = row.Total
		}
		if hasTeam(tr.Teams, row.Team) {
			// A declared team named like the tenant: rows come by path,
			// so the tenant's own team is first and is kept, and metric
			// series stay unique.
			continue
		}
		tr.Teams = append(tr.Teams, TeamReport{Team: row.Team, Costs: row.Costs})
	}
	for _, row := range last {
		if tr := rep.Tenants[row.Tenant]; tr != nil && row.Line == cost.LineTenant && row.Team == row.Tenant && row.TeamPath == row.Tenant {
			tr.LastMonth = row.Total
		}
	}
	return rep, nil
}

func hasTeam(teams []TeamReport, name string) bool {
	for _, t := range teams {
		if t.Team == name {
			return true
		}
	}
	return false
}

// summarize reads one window and returns its per-team summary.
func summarize(ctx context.Context, c opencost.Client, dir cost.Directory, opts cost.Options, w period.Window) ([]cost.SummaryRow, error) {
	roller, err := cost.NewRoller(dir, opts)
	if err != nil {
		return nil, err
	}
	sum := cost.NewTeamSummary(w)
	if _, err := c.Allocations(ctx, w, func(s *opencost.Step) error {
		rep, err := roller.Step(s)
		if err != nil {
			return err
		}
		sum.Add(rep)
		return nil
	}); err != nil {
		return nil, err
	}
	return sum.Rows(), nil
}
