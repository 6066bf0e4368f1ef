package cost

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// SummaryRow is one team's cost over a window, its descendants included, or
// one line that belongs to no team (a shared namespace, idle, unallocated).
type SummaryRow struct {
	Line       Line
	Tenant     string
	CostCenter string
	// Team and TeamPath are set for tenant lines; the tenant's own team
	// has TeamPath equal to the root namespace.
	Team     string
	TeamPath string
	// Namespace is set for the other lines.
	Namespace string
	Costs
}

// IsPartition reports whether the row belongs to the set of rows that sum
// to the window's total: tenant root teams and every non-tenant line.
// Nested teams overlap their parents.
func (s *SummaryRow) IsPartition() bool {
	return s.Line != LineTenant || !strings.Contains(s.TeamPath, "/")
}

type summaryKey struct {
	line   Line
	tenant string
	path   string
}

// TeamSummary accumulates per-team totals over a window. Its state is one
// entry per team and per non-tenant line.
type TeamSummary struct {
	Window        period.Window
	OpenCostTotal Micro
	index         map[summaryKey]int
	rows          []SummaryRow
}

// NewTeamSummary returns an empty summary of window w.
func NewTeamSummary(w period.Window) *TeamSummary {
	return &TeamSummary{Window: w, index: map[summaryKey]int{}}
}

func (s *TeamSummary) entry(k summaryKey, init func() SummaryRow) *SummaryRow {
	i, ok := s.index[k]
	if !ok {
		i = len(s.rows)
		s.index[k] = i
		s.rows = append(s.rows, init())
	}
	return &s.rows[i]
}

// Add folds one period's report in: each tenant row counts for every team
// that holds its namespace.
func (s *TeamSummary) Add(rep *Report) {
	s.OpenCostTotal += rep.OpenCostTotal
	for i := range rep.Rows {
		row := &rep.Rows[i]
		if row.Line != LineTenant {
			e := s.entry(summaryKey{row.Line, "", row.Namespace}, func() SummaryRow {
				return SummaryRow{Line: row.Line, Namespace: row.Namespace}
			})
			e.Add(&row.Costs)
			continue
		}
		at := row.Attribution
		for _, tm := range at.Teams {
			e := s.entry(summaryKey{LineTenant, at.Tenant, tm.Path}, func() SummaryRow {
				return SummaryRow{Line: LineTenant, Tenant: at.Tenant, CostCenter: at.CostCenter, Team: tm.Name, TeamPath: tm.Path}
			})
			e.Add(&row.Costs)
		}
	}
}

// Rows returns the summary: tenant teams by tenant and path, then the other
// lines in the order shared, idle, unallocated.
func (s *TeamSummary) Rows() []SummaryRow {
	out := slices.Clone(s.rows)
	slices.SortFunc(out, func(a, b SummaryRow) int {
		return cmp.Or(cmp.Compare(lineOrder(a.Line), lineOrder(b.Line)), cmp.Compare(a.Tenant, b.Tenant),
			cmp.Compare(a.TeamPath, b.TeamPath), cmp.Compare(a.Namespace, b.Namespace))
	})
	return out
}

func lineOrder(l Line) int {
	switch l {
	case LineTenant:
		return 0
	case LineShared:
		return 1
	case LineIdle:
		return 2
	default:
		return 3
	}
}

type nsKey struct {
	line      Line
	tenant    string
	namespace string
}

// NamespaceTotals accumulates namespace-level rows over a window, for a
// report whose period is the whole window (a month, say). Its state is one
// entry per namespace and line.
type NamespaceTotals struct {
	report     Report
	index      map[nsKey]int
	unresolved map[string]struct{}
}

// NewNamespaceTotals returns empty totals over window w.
func NewNamespaceTotals(w period.Window) *NamespaceTotals {
	return &NamespaceTotals{report: Report{Window: w}, index: map[nsKey]int{}, unresolved: map[string]struct{}{}}
}

// Add folds one period's report in.
func (t *NamespaceTotals) Add(rep *Report) {
	r := &t.report
	r.OpenCostTotal += rep.OpenCostTotal
	r.Unallocated += rep.Unallocated
	r.NullTotals += rep.NullTotals
	for i := range rep.Rows {
		row := &rep.Rows[i]
		k := nsKey{line: row.Line, namespace: row.Namespace}
		if row.Attribution != nil {
			k.tenant = row.Attribution.Tenant
		}
		j, ok := t.index[k]
		if !ok {
			j = len(r.Rows)
			t.index[k] = j
			r.Rows = append(r.Rows, Row{Line: row.Line, Namespace: row.Namespace, Attribution: row.Attribution})
		}
		r.Rows[j].Add(&row.Costs)
	}
	for _, ns := range rep.Unresolved {
		t.unresolved[ns] = struct{}{}
	}
}

// Report returns the accumulated report, rows in the same order as a
// Roller's. It is checked for conservation like a step's.
func (t *NamespaceTotals) Report() (*Report, error) {
	out := t.report
	out.Rows = slices.Clone(t.report.Rows)
	out.Unresolved = slices.Sorted(maps.Keys(t.unresolved))
	slices.SortStableFunc(out.Rows, func(a, b Row) int {
		if c := cmp.Compare(lineOrder(a.Line), lineOrder(b.Line)); c != 0 {
			return c
		}
		if a.Attribution != nil && b.Attribution != nil {
			return cmp.Or(cmp.Compare(a.Attribution.Tenant, b.Attribution.Tenant),
				cmp.Compare(a.Attribution.Path, b.Attribution.Path), cmp.Compare(a.Namespace, b.Namespace))
		}
		return cmp.Compare(a.Namespace, b.Namespace)
	})
	if err := out.CheckConservation(); err != nil {
		return nil, err
	}
	return &out, nil
}
