package costapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// Format is how a chargeback is encoded.
type Format string

// Formats.
const (
	FormatCSV  Format = "csv"
	FormatJSON Format = "json"
)

// ParseFormat accepts csv (the default when empty) and json.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case "", FormatCSV:
		return FormatCSV, nil
	case FormatJSON:
		return FormatJSON, nil
	default:
		return "", fmt.Errorf("invalid format %q: want %q or %q", s, FormatCSV, FormatJSON)
	}
}

// Query is one chargeback request.
type Query struct {
	Window period.Window
	// Tenant filters the report to one tenant's rows; empty keeps every
	// row, the shared, idle and unallocated lines included.
	Tenant string
	// Summary asks for one row per team instead of one per namespace.
	Summary bool
}

// Chargeback is a rolled-up, conservation-checked report of one window.
type Chargeback struct {
	Query
	Currency string
	// Report holds the namespace rows (when not Summary), the window being
	// their one period.
	Report *cost.Report
	// Teams holds the summary rows (when Summary).
	Teams []cost.SummaryRow
}

// Compute reads q.Window from OpenCost, rolls it up over the whole cluster
// (idle and shared spreads depend on every tenant) and keeps q.Tenant's
// rows. It returns an error, and nothing else, if any step failed.
func Compute(ctx context.Context, oc opencost.Client, dir cost.Directory, opts cost.Options, currency string, q Query) (*Chargeback, error) {
	roller, err := cost.NewRoller(dir, opts)
	if err != nil {
		return nil, err
	}
	sum := cost.NewTeamSummary(q.Window)
	totals := cost.NewNamespaceTotals(q.Window)
	if _, err := oc.Allocations(ctx, q.Window, func(s *opencost.Step) error {
		rep, err := roller.Step(s)
		if err != nil {
			return err
		}
		if q.Summary {
			sum.Add(rep)
		} else {
			totals.Add(rep)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("reading OpenCost for %s: %w", q.Window, err)
	}
	cb := &Chargeback{Query: q, Currency: currency}
	if q.Summary {
		cb.Teams = filterTeams(sum.Rows(), q.Tenant)
		return cb, nil
	}
	rep, err := totals.Report()
	if err != nil {
		return nil, fmt.Errorf("rolling up %s: %w", q.Window, err)
	}
	cb.Report = filterReport(rep, q.Tenant)
	return cb, nil
}

func filterReport(rep *cost.Report, tenant string) *cost.Report {
	if tenant == "" {
		return rep
	}
	out := &cost.Report{Window: rep.Window}
	for _, row := range rep.Rows {
		if row.Line == cost.LineTenant && row.Attribution.Tenant == tenant {
			out.Rows = append(out.Rows, row)
			out.OpenCostTotal += row.Total
		}
	}
	return out
}

func filterTeams(rows []cost.SummaryRow, tenant string) []cost.SummaryRow {
	if tenant == "" {
		return rows
	}
	var out []cost.SummaryRow
	for _, r := range rows {
		if r.Line == cost.LineTenant && r.Tenant == tenant {
			out = append(out, r)
		}
	}
	return out
}

// WriteCSV writes the chargeback as RFC 4180 CSV with package cost's
// writers, amounts rounded to cents so that the rows still add up.
func (cb *Chargeback) WriteCSV(w io.Writer) error {
	opts := cost.CSVOptions{Currency: cb.Currency, Precision: cost.PrecisionCents}
	if cb.Summary {
		c := cost.NewTeamCSV(w, opts)
		if len(cb.Teams) > 0 {
			if err := c.WriteSummary(cb.Window, cb.Teams); err != nil {
				return err
			}
		}
		return c.Close()
	}
	c := cost.NewNamespaceCSV(w, opts)
	if len(cb.Report.Rows) > 0 {
		if err := c.WriteReport(cb.Report); err != nil {
			return err
		}
	}
	return c.Close()
}

// Document is the JSON form of a chargeback. Amounts are exact decimal
// strings (micro-units of currency), not rounded.
type Document struct {
	Kind       string     `json:"kind"`
	APIVersion string     `json:"apiVersion"`
	Tenant     string     `json:"tenant,omitempty"`
	Window     WindowJSON `json:"window"`
	Currency   string     `json:"currency"`
	Summary    bool       `json:"summary"`
	Rows       []RowJSON  `json:"rows"`
}

// WindowJSON is a window in RFC 3339 UTC.
type WindowJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// RowJSON is one row: a namespace (Path set) or a team (TeamPath set, in
// a summary), or a shared, idle or unallocated line.
type RowJSON struct {
	// Cluster is set in a fleet chargeback only.
	Cluster      string `json:"cluster,omitempty"`
	Line         string `json:"line"`
	Tenant       string `json:"tenant,omitempty"`
	CostCenter   string `json:"costCenter,omitempty"`
	Team         string `json:"team,omitempty"`
	TeamPath     string `json:"teamPath,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
	Path         string `json:"path,omitempty"`
	CPU          string `json:"cpuCost"`
	RAM          string `json:"ramCost"`
	GPU          string `json:"gpuCost"`
	PV           string `json:"pvCost"`
	Network      string `json:"networkCost"`
	LoadBalancer string `json:"loadBalancerCost"`
	External     string `json:"externalCost"`
	Shared       string `json:"sharedCost"`
	Idle         string `json:"idleCost"`
	Total        string `json:"totalCost"`
	CPUCoreHours string `json:"cpuCoreHours"`
	RAMGiBHours  string `json:"ramGiBHours"`
}

// Kind of Document.
const KindChargeback = "Chargeback"

// Document converts the chargeback to its JSON form.
func (cb *Chargeback) Document() *Document {
	d := &Document{
		Kind: KindChargeback, APIVersion: GroupVersion.String(), Tenant: cb.Tenant,
		Window:   WindowJSON{Start: cb.Window.Start.UTC().Format(time.RFC3339), End: cb.Window.End.UTC().Format(time.RFC3339)},
		Currency: cb.Currency, Summary: cb.Summary, Rows: []RowJSON{},
	}
	if cb.Summary {
		for i := range cb.Teams {
			r := &cb.Teams[i]
			row := rowJSON(r.Line, &r.Costs)
			row.Tenant, row.CostCenter, row.Team, row.TeamPath, row.Namespace = r.Tenant, r.CostCenter, r.Team, r.TeamPath, r.Namespace
			d.Rows = append(d.Rows, row)
		}
		return d
	}
	for i := range cb.Report.Rows {
		r := &cb.Report.Rows[i]
		row := rowJSON(r.Line, &r.Costs)
		row.Namespace = r.Namespace
		if at := r.Attribution; at != nil {
			tm := at.Team()
			row.Tenant, row.CostCenter, row.Team, row.TeamPath, row.Path = at.Tenant, at.CostCenter, tm.Name, tm.Path, at.Path
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

func rowJSON(line cost.Line, c *cost.Costs) RowJSON {
	return RowJSON{
		Line: string(line), CPU: c.CPU.String(), RAM: c.RAM.String(), GPU: c.GPU.String(), PV: c.PV.String(),
		Network: c.Network.String(), LoadBalancer: c.LoadBalancer.String(), External: c.External.String(),
		Shared: c.Shared.String(), Idle: c.Idle.String(), Total: c.Total.String(),
		CPUCoreHours: c.CPUCoreHours.String(), RAMGiBHours: c.RAMGiBHours.String(),
	}
}

// WriteJSON writes the chargeback's Document.
func (cb *Chargeback) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(cb.Document()); err != nil {
		return fmt.Errorf("encoding chargeback JSON: %w", err)
	}
	return nil
}

// Write encodes the chargeback in format f.
func (cb *Chargeback) Write(w io.Writer, f Format) error {
	if f == FormatJSON {
		return cb.WriteJSON(w)
	}
	return cb.WriteCSV(w)
}
