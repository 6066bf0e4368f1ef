package cost

import (
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// Precision is how a CSV renders amounts of currency.
type Precision int

// Precisions.
const (
	// PrecisionCents rounds to cents with largest-remainder rounding per
	// column, so the rounded rows of a period still add up.
	PrecisionCents Precision = iota
	// PrecisionMicros writes the exact micro-unit amounts.
	PrecisionMicros
)

// CSVOptions configure a CSV writer.
type CSVOptions struct {
	// Currency is written on every row, e.g. USD.
	Currency  string
	Precision Precision
}

// The money columns, in CSV order, and how to read them from Costs.
var moneyColumns = []struct {
	name string
	get  func(*Costs) Micro
}{
	{"cpu_cost", func(c *Costs) Micro { return c.CPU }},
	{"ram_cost", func(c *Costs) Micro { return c.RAM }},
	{"gpu_cost", func(c *Costs) Micro { return c.GPU }},
	{"pv_cost", func(c *Costs) Micro { return c.PV }},
	{"network_cost", func(c *Costs) Micro { return c.Network }},
	{"load_balancer_cost", func(c *Costs) Micro { return c.LoadBalancer }},
	{"external_cost", func(c *Costs) Micro { return c.External }},
	{"shared_cost", func(c *Costs) Micro { return c.Shared }},
	{"idle_cost", func(c *Costs) Micro { return c.Idle }},
	{"total_cost", func(c *Costs) Micro { return c.Total }},
}

// NamespaceHeader is the header of a namespace-level chargeback CSV.
var NamespaceHeader = header("period_start", "period_end", "line", "tenant", "cost_center", "team", "team_path", "namespace", "path")

// TeamHeader is the header of a per-team summary CSV.
var TeamHeader = header("period_start", "period_end", "line", "tenant", "cost_center", "team", "team_path", "namespace")

func header(lead ...string) []string {
	h := append([]string(nil), lead...)
	for _, c := range moneyColumns {
		h = append(h, c.name)
	}
	return append(h, "currency", "cpu_core_hours", "ram_gib_hours")
}

// csvWriter holds what both CSV forms share.
type csvWriter struct {
	w       *csv.Writer
	opts    CSVOptions
	header  []string
	started bool
	record  []string
	values  []Micro
	rounded [][]Cents
}

func newCSVWriter(w io.Writer, opts CSVOptions, header []string) csvWriter {
	return csvWriter{w: csv.NewWriter(w), opts: opts, header: header}
}

func (c *csvWriter) start() error {
	if c.started {
		return nil
	}
	c.started = true
	if err := c.w.Write(c.header); err != nil {
		return fmt.Errorf("writing CSV header: %w", err)
	}
	return nil
}

// round computes each money column of the given costs: at cent precision
// by largest remainder over the rows where inSet is true, and
// independently (half away from zero) for the others.
func (c *csvWriter) round(n int, costs func(int) *Costs, inSet func(int) bool) {
	if c.opts.Precision != PrecisionCents {
		return
	}
	c.rounded = c.rounded[:0]
	for _, col := range moneyColumns {
		c.values = c.values[:0]
		for i := 0; i < n; i++ {
			if inSet(i) {
				c.values = append(c.values, col.get(costs(i)))
			}
		}
		set := RoundCents(c.values, nil)
		out := make([]Cents, n)
		k := 0
		for i := 0; i < n; i++ {
			if inSet(i) {
				out[i] = set[k]
				k++
			} else {
				out[i] = RoundCent(col.get(costs(i)))
			}
		}
		c.rounded = append(c.rounded, out)
	}
}

func (c *csvWriter) appendCosts(i int, costs *Costs) {
	for j, col := range moneyColumns {
		if c.opts.Precision == PrecisionCents {
			c.record = append(c.record, c.rounded[j][i].String())
		} else {
			c.record = append(c.record, col.get(costs).String())
		}
	}
	c.record = append(c.record, c.opts.Currency, costs.CPUCoreHours.String(), costs.RAMGiBHours.String())
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// NamespaceCSV writes namespace-level chargeback rows: one per (period,
// tenant, team path, namespace), plus the shared, idle and unallocated
// lines. Rows of one period are rounded together, so they add up to the
// period's total rounded to cents.
type NamespaceCSV struct{ csvWriter }

// NewNamespaceCSV returns a writer to w. Call Close to write the header of
// an empty report and flush.
func NewNamespaceCSV(w io.Writer, opts CSVOptions) *NamespaceCSV {
	return &NamespaceCSV{newCSVWriter(w, opts, NamespaceHeader)}
}

// WriteReport writes one period's rows.
func (c *NamespaceCSV) WriteReport(rep *Report) error {
	if err := c.start(); err != nil {
		return err
	}
	c.round(len(rep.Rows), func(i int) *Costs { return &rep.Rows[i].Costs }, func(int) bool { return true })
	start, end := formatTime(rep.Window.Start), formatTime(rep.Window.End)
	for i := range rep.Rows {
		row := &rep.Rows[i]
		c.record = append(c.record[:0], start, end, string(row.Line))
		if at := row.Attribution; at != nil {
			tm := at.Team()
			c.record = append(c.record, at.Tenant, at.CostCenter, tm.Name, tm.Path, row.Namespace, at.Path)
		} else {
			c.record = append(c.record, "", "", "", "", row.Namespace, "")
		}
		c.appendCosts(i, &row.Costs)
		if err := c.w.Write(c.record); err != nil {
			return fmt.Errorf("writing CSV row for %q: %w", row.Namespace, err)
		}
	}
	return nil
}

// Close writes the header if nothing was written and flushes.
func (c *NamespaceCSV) Close() error {
	if err := c.start(); err != nil {
		return err
	}
	return c.flush()
}

// TeamCSV writes a per-team summary: one row per team, its descendants
// included, plus the shared, idle and unallocated lines. Root teams and
// those lines are rounded together so they add up to the total; nested
// teams are rounded on their own, since they overlap their parents.
type TeamCSV struct{ csvWriter }

// NewTeamCSV returns a writer to w.
func NewTeamCSV(w io.Writer, opts CSVOptions) *TeamCSV {
	return &TeamCSV{newCSVWriter(w, opts, TeamHeader)}
}

// WriteSummary writes the rows of one window's summary.
func (c *TeamCSV) WriteSummary(w period.Window, rows []SummaryRow) error {
	if err := c.start(); err != nil {
		return err
	}
	c.round(len(rows), func(i int) *Costs { return &rows[i].Costs }, func(i int) bool { return rows[i].IsPartition() })
	start, end := formatTime(w.Start), formatTime(w.End)
	for i := range rows {
		r := &rows[i]
		c.record = append(c.record[:0], start, end, string(r.Line), r.Tenant, r.CostCenter, r.Team, r.TeamPath, r.Namespace)
		c.appendCosts(i, &r.Costs)
		if err := c.w.Write(c.record); err != nil {
			return fmt.Errorf("writing CSV row for team %q: %w", r.TeamPath, err)
		}
	}
	return nil
}

// Close writes the header if nothing was written and flushes.
func (c *TeamCSV) Close() error {
	if err := c.start(); err != nil {
		return err
	}
	return c.flush()
}
