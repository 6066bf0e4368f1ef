package cost

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// Policy says what happens to idle cost or to the cost of shared namespaces.
type Policy string

// Policies.
const (
	// Separate keeps the cost as its own line.
	Separate Policy = "separate"
	// Weighted spreads it over tenants in proportion to their cost.
	Weighted Policy = "weighted"
	// Even spreads it over tenants in equal parts.
	Even Policy = "even"
)

// Options configure a Roller.
type Options struct {
	// Idle is the policy for OpenCost's __idle__ cost.
	Idle Policy
	// Shared is the policy for the cost of SharedNamespaces.
	Shared Policy
	// SharedNamespaces, such as kube-system or monitoring, serve every
	// tenant. They are shared even if labelled with a tenant.
	SharedNamespaces []string
}

// Validate reports whether the options name known policies.
func (o Options) Validate() error {
	for _, p := range []struct {
		name string
		p    Policy
	}{{"idle", o.Idle}, {"shared", o.Shared}} {
		switch p.p {
		case Separate, Weighted, Even:
		default:
			return fmt.Errorf("unknown %s policy %q: want %q, %q or %q", p.name, p.p, Separate, Weighted, Even)
		}
	}
	return nil
}

// Line says what a row of a report stands for.
type Line string

// Lines.
const (
	LineTenant      Line = "tenant"
	LineShared      Line = "shared"
	LineIdle        Line = "idle"
	LineUnallocated Line = "unallocated"
)

// Names of the namespace column for lines that are not a namespace.
const (
	NamespaceIdle        = opencost.KeyIdle
	NamespaceUnallocated = opencost.KeyUnallocated
)

// Costs are one row's amounts. Each resource's cost includes OpenCost's
// adjustment for it. Shared holds OpenCost's own sharedCost plus the row's
// share of Canopy's shared namespaces, and Idle the row's share of idle
// cost; Total is OpenCost's totalCost plus both shares.
type Costs struct {
	CPU, RAM, GPU, PV, Network, LoadBalancer, External Micro
	Shared, Idle, Total                                Micro
	CPUCoreHours, RAMGiBHours                          Micro
}

// Add adds o to c.
func (c *Costs) Add(o *Costs) {
	c.CPU += o.CPU
	c.RAM += o.RAM
	c.GPU += o.GPU
	c.PV += o.PV
	c.Network += o.Network
	c.LoadBalancer += o.LoadBalancer
	c.External += o.External
	c.Shared += o.Shared
	c.Idle += o.Idle
	c.Total += o.Total
	c.CPUCoreHours += o.CPUCoreHours
	c.RAMGiBHours += o.RAMGiBHours
}

// Row is one line of a namespace-level report.
type Row struct {
	Line Line
	// Namespace is the namespace, or NamespaceIdle / NamespaceUnallocated.
	Namespace string
	// Attribution is set for tenant rows only.
	Attribution *Attribution
	Costs
}

// Report is the namespace-level roll-up of one period.
type Report struct {
	Window period.Window
	// Rows are tenant rows by tenant and path, then shared namespaces kept
	// separate by name, then the idle line, then the unallocated line.
	Rows []Row
	// OpenCostTotal is the sum of totalCost over every key OpenCost
	// returned; the rows' totals sum to it exactly.
	OpenCostTotal Micro
	// Unallocated is the sum of the totals of __unallocated__ and of the
	// namespaces that resolved to no tenant, accumulated directly.
	Unallocated Micro
	// Unresolved are the namespaces that resolved to no tenant.
	Unresolved []string
	// NullTotals counts allocations whose totalCost was null.
	NullTotals int
}

// Roller rolls OpenCost steps up into Reports. It reuses its Report and
// buffers between calls, so its state grows with the namespaces of a step.
// It is not safe for concurrent use.
type Roller struct {
	opts     Options
	res      *Resolver
	shared   map[string]bool
	report   Report
	tenant   []Row
	sharedNS []Row
	weights  []Micro
	shares   []Micro
	inner    []Micro
}

// NewRoller returns a Roller attributing through dir.
func NewRoller(dir Directory, opts Options) (*Roller, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	r := &Roller{opts: opts, res: NewResolver(dir), shared: map[string]bool{}}
	for _, ns := range opts.SharedNamespaces {
		r.shared[ns] = true
	}
	return r, nil
}

// Step rolls one step up. The returned Report is valid until the next call.
func (r *Roller) Step(s *opencost.Step) (*Report, error) {
	rep := &r.report
	rep.Window, rep.Rows, rep.OpenCostTotal, rep.Unallocated = s.Window, rep.Rows[:0], 0, 0
	rep.Unresolved, rep.NullTotals = rep.Unresolved[:0], 0
	r.tenant, r.sharedNS = r.tenant[:0], r.sharedNS[:0]
	var idle, unalloc Costs
	sawIdle, sawUnalloc := false, false

	for i := range s.Allocations {
		a := &s.Allocations[i]
		c, totalOK, err := costsOf(a)
		if err != nil {
			return nil, fmt.Errorf("step %s, %q: %w", s.Window, a.Key, err)
		}
		if !totalOK {
			rep.NullTotals++
		}
		rep.OpenCostTotal += c.Total
		switch {
		case a.IsIdle():
			idle.Add(&c)
			sawIdle = true
		case a.IsUnallocated():
			unalloc.Add(&c)
			rep.Unallocated += c.Total
			sawUnalloc = true
		case r.shared[a.Key]:
			r.sharedNS = append(r.sharedNS, Row{Line: LineShared, Namespace: a.Key, Costs: c})
		default:
			if at := r.res.Resolve(a.Key, a.NamespaceLabels); at != nil {
				r.tenant = append(r.tenant, Row{Line: LineTenant, Namespace: a.Key, Attribution: at, Costs: c})
				continue
			}
			unalloc.Add(&c)
			rep.Unallocated += c.Total
			rep.Unresolved = append(rep.Unresolved, a.Key)
			sawUnalloc = true
		}
	}

	slices.SortFunc(r.tenant, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Attribution.Tenant, b.Attribution.Tenant),
			cmp.Compare(a.Attribution.Path, b.Attribution.Path), cmp.Compare(a.Namespace, b.Namespace))
	})
	slices.SortFunc(r.sharedNS, func(a, b Row) int { return cmp.Compare(a.Namespace, b.Namespace) })
	slices.Sort(rep.Unresolved)

	// Both spreads weigh tenants by their own cost, before any share, so
	// the result does not depend on the order of the two spreads.
	r.weights = r.weights[:0]
	for i := range r.tenant {
		r.weights = append(r.weights, r.tenant[i].Total)
	}
	spreadShared := r.opts.Shared != Separate && len(r.tenant) > 0 && len(r.sharedNS) > 0
	if spreadShared {
		var amount Micro
		for i := range r.sharedNS {
			amount += r.sharedNS[i].Total
		}
		r.spread(amount, r.opts.Shared, func(row *Row, m Micro) { row.Shared += m; row.Total += m })
	}
	spreadIdle := r.opts.Idle != Separate && len(r.tenant) > 0 && sawIdle
	if spreadIdle {
		r.spread(idle.Total, r.opts.Idle, func(row *Row, m Micro) { row.Idle += m; row.Total += m })
	}

	rep.Rows = append(rep.Rows, r.tenant...)
	if !spreadShared {
		rep.Rows = append(rep.Rows, r.sharedNS...)
	}
	if sawIdle && !spreadIdle {
		rep.Rows = append(rep.Rows, Row{Line: LineIdle, Namespace: NamespaceIdle, Costs: idle})
	}
	if sawUnalloc {
		rep.Rows = append(rep.Rows, Row{Line: LineUnallocated, Namespace: NamespaceUnallocated, Costs: unalloc})
	}
	if err := rep.CheckConservation(); err != nil {
		return nil, fmt.Errorf("step %s: %w", s.Window, err)
	}
	return rep, nil
}

// spread apportions amount over the tenant rows: over tenants by policy
// (weighted by their own cost, or evenly), then within each tenant over its
// namespaces weighted by their own cost. Both levels use largest-remainder
// apportionment, so the shares sum to amount exactly. r.tenant is sorted by
// tenant, so each tenant's rows are contiguous.
func (r *Roller) spread(amount Micro, p Policy, add func(*Row, Micro)) {
	type group struct{ lo, hi int }
	var groups []group
	var tw []Micro
	for lo := 0; lo < len(r.tenant); {
		hi := lo + 1
		for hi < len(r.tenant) && r.tenant[hi].Attribution.Tenant == r.tenant[lo].Attribution.Tenant {
			hi++
		}
		var w Micro
		for _, x := range r.weights[lo:hi] {
			w += max(x, 0)
		}
		if p == Even {
			w = 1
		}
		groups = append(groups, group{lo, hi})
		tw = append(tw, w)
		lo = hi
	}
	r.shares = Split(amount, tw, r.shares)
	for gi, g := range groups {
		r.inner = Split(r.shares[gi], r.weights[g.lo:g.hi], r.inner)
		for i, m := range r.inner {
			add(&r.tenant[g.lo+i], m)
		}
	}
}

// CheckConservation reports whether the rows sum exactly to OpenCost's
// total and the unallocated line matches the independently accumulated
// Unallocated.
func (rep *Report) CheckConservation() error {
	var sum, unalloc Micro
	for i := range rep.Rows {
		sum += rep.Rows[i].Total
		if rep.Rows[i].Line == LineUnallocated {
			unalloc += rep.Rows[i].Total
		}
	}
	if sum != rep.OpenCostTotal {
		return fmt.Errorf("conservation violated: rows sum to %s, OpenCost's total is %s", sum, rep.OpenCostTotal)
	}
	if unalloc != rep.Unallocated {
		return fmt.Errorf("unallocated line is %s, independently accumulated %s", unalloc, rep.Unallocated)
	}
	return nil
}

const bytesPerGiB = 1 << 30

// costsOf converts one allocation to Micro. totalOK is false when
// totalCost was null.
func costsOf(a *opencost.Allocation) (c Costs, totalOK bool, err error) {
	var firstErr error
	conv := func(name string, vs ...float64) Micro {
		var sum Micro
		for _, v := range vs {
			m, _, err := FromFloat(v)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", name, err)
			}
			sum += m
		}
		return sum
	}
	c.CPU = conv("cpuCost", a.CPUCost, a.CPUCostAdjustment)
	c.RAM = conv("ramCost", a.RAMCost, a.RAMCostAdjustment)
	c.GPU = conv("gpuCost", a.GPUCost, a.GPUCostAdjustment)
	c.PV = conv("pvCost", a.PVCost, a.PVCostAdjustment)
	c.Network = conv("networkCost", a.NetworkCost, a.NetworkCostAdjustment)
	c.LoadBalancer = conv("loadBalancerCost", a.LoadBalancerCost, a.LoadBalancerCostAdjustment)
	c.External = conv("externalCost", a.ExternalCost)
	c.Shared = conv("sharedCost", a.SharedCost)
	c.CPUCoreHours = conv("cpuCoreHours", a.CPUCoreHours)
	c.RAMGiBHours = conv("ramByteHours", a.RAMByteHours/bytesPerGiB)
	var total Micro
	total, totalOK, err = FromFloat(a.TotalCost)
	if err != nil && firstErr == nil {
		firstErr = fmt.Errorf("totalCost: %w", err)
	}
	c.Total = total
	return c, totalOK, firstErr
}
