package setup

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/internal/metrics"
)

func init() { registrations = append(registrations, registerCostExport) }

// CostExportOptions configure the scheduled chargeback export, on the
// leader, when --opencost-url and --cost-export-dir are set.
type CostExportOptions struct {
	// Dir receives one CSV per closed period; empty disables the export.
	Dir string
	// Period is day or month.
	Period string
	// Grace after a period's end before it is exported.
	Grace time.Duration
	// Since is the first day to export (YYYY-MM-DD); empty means the
	// start of the previous month.
	Since string
}

func (o *CostExportOptions) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Dir, "cost-export-dir", o.Dir, "Directory receiving one chargeback CSV per closed UTC period (with --opencost-url); empty disables the export.")
	fs.StringVar(&o.Period, "cost-export-period", "day", "Length of an exported period: day or month (UTC).")
	fs.DurationVar(&o.Grace, "cost-export-grace", period.DefaultGrace, "How long after its end a period is exported, so late metrics land first.")
	fs.StringVar(&o.Since, "cost-export-since", o.Since, "First day to export, YYYY-MM-DD (default: the start of the previous month).")
}

// granularity parses --cost-export-period.
func (o CostExportOptions) granularity() (period.Granularity, error) {
	switch o.Period {
	case "", "day", string(period.Daily):
		return period.Daily, nil
	case "month", string(period.Monthly):
		return period.Monthly, nil
	default:
		return "", fmt.Errorf("--cost-export-period %q: want day or month", o.Period)
	}
}

func (o CostExportOptions) since() (time.Time, error) {
	if o.Since == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, o.Since)
	if err != nil {
		return time.Time{}, fmt.Errorf("--cost-export-since %q: want a date, YYYY-MM-DD", o.Since)
	}
	return t.UTC(), nil
}

// registerCostExport adds the leader-only exporter.
func registerCostExport(mgr ctrl.Manager, d Deps) error {
	o := d.Options.Cost
	if o.OpenCostURL == "" || o.Export.Dir == "" {
		return nil
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	g, err := o.Export.granularity()
	if err != nil {
		return err
	}
	since, err := o.Export.since()
	if err != nil {
		return err
	}
	if o.Export.Grace < 0 {
		return fmt.Errorf("--cost-export-grace %s: must not be negative", o.Export.Grace)
	}
	if fi, err := os.Stat(o.Export.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("--cost-export-dir %q: not a directory: %w", o.Export.Dir, err)
	}
	hc, err := opencost.NewHTTPClient(o.OpenCostURL)
	if err != nil {
		return fmt.Errorf("--opencost-url: %w", err)
	}
	oc := metrics.CountOpenCostErrors(hc, metrics.OpenCostExport)
	var members func(context.Context) ([]costapi.FleetMember, error)
	if d.Options.Fleet.Hub {
		// A hub exports the fleet's chargeback, read from the members'
		// own OpenCost.
		members = fleetCost{reader: mgr.GetAPIReader(), namespace: fleetNamespace(d), log: mgr.GetLogger().WithName("costexport")}.AllMembers
	}
	if err := mgr.Add(&costapi.Exporter{
		Dir:         o.Export.Dir,
		Granularity: g,
		Grace:       o.Export.Grace,
		Since:       since,
		Source:      tenantDirectory{reader: mgr.GetCache(), forest: d.Forest},
		OpenCost:    oc,
		Fleet:       members,
		Rollup:      cfg.Rollup,
		Currency:    cfg.Currency,
		Ready:       d.Sync.WaitLoaded,
		Log:         mgr.GetLogger().WithName("costexport"),
	}); err != nil {
		return fmt.Errorf("adding the chargeback exporter: %w", err)
	}
	return nil
}
