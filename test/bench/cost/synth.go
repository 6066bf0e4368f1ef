// Package costbench benchmarks Canopy's cost pipeline on a synthetic
// OpenCost response the size of a large cluster's month: 30 daily steps of
// 5,000 namespaces, 150,000 allocations. It compares decoding alone with
// decoding plus the roll-up into a per-team summary and a streamed daily
// CSV, so a regression that makes the roll-up cost more than decoding, or
// makes its state grow with days, shows up.
package costbench

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// Shape is the size of a synthetic response.
type Shape struct {
	Days                int
	Tenants             int
	NamespacesPerTenant int
	TeamsPerTenant      int
}

// Namespaces is the number of namespace keys per step.
func (s Shape) Namespaces() int { return s.Tenants * s.NamespacesPerTenant }

// Large is the benchmark's shape: 100 tenants of 50 namespaces over 30 days.
var Large = Shape{Days: 30, Tenants: 100, NamespacesPerTenant: 50, TeamsPerTenant: 5}

// Start is the first day of every synthetic response.
var Start = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// Window is the window a response of s covers.
func (s Shape) Window() period.Window {
	return period.Window{Start: Start, End: Start.AddDate(0, 0, s.Days)}
}

func nsName(t, n int) string {
	if n == 0 {
		return fmt.Sprintf("tenant-%03d", t)
	}
	return fmt.Sprintf("tenant-%03d-ns-%02d", t, n)
}

// path of namespace n of tenant t: namespaces 1..9 hang off the root, and
// each later one off namespace n/10, so trees are up to three deep.
func treePath(t, n int) []string {
	if n == 0 {
		return []string{nsName(t, 0)}
	}
	parent := 0
	if n >= 10 {
		parent = n / 10
	}
	return append(treePath(t, parent), nsName(t, n))
}

// Directory is the live view: every tenth namespace is deleted and known
// only from its labels.
func (s Shape) Directory() cost.Directory {
	dir := cost.Directory{Tenants: map[string]cost.Tenant{}, Namespaces: map[string]cost.LiveNamespace{}}
	for t := range s.Tenants {
		name := nsName(t, 0)
		ten := cost.Tenant{Name: name, CostCenter: "cc-" + strconv.Itoa(t%7)}
		for k := 1; k <= s.TeamsPerTenant && k < s.NamespacesPerTenant; k++ {
			ten.Teams = append(ten.Teams, cost.Team{Name: fmt.Sprintf("team-%d", k), Root: nsName(t, k)})
		}
		dir.Tenants[name] = ten
		for n := range s.NamespacesPerTenant {
			if n%10 == 9 {
				continue
			}
			dir.Namespaces[nsName(t, n)] = cost.LiveNamespace{Tenant: name, Path: treePath(t, n)}
		}
	}
	return dir
}

// Response renders the synthetic /allocation response. Costs are exact at
// five decimals, as OpenCost rounds them.
func (s Shape) Response() []byte {
	var b bytes.Buffer
	b.Grow(s.Days * s.Namespaces() * 900)
	b.WriteString(`{"code":200,"status":"success","data":[`)
	for d := range s.Days {
		if d > 0 {
			b.WriteByte(',')
		}
		start := Start.AddDate(0, 0, d).Format(time.RFC3339)
		end := Start.AddDate(0, 0, d+1).Format(time.RFC3339)
		b.WriteByte('{')
		first := true
		for t := range s.Tenants {
			for n := range s.NamespacesPerTenant {
				if !first {
					b.WriteByte(',')
				}
				first = false
				writeAllocation(&b, t, n, d, start, end)
			}
		}
		fmt.Fprintf(&b, `,"__idle__":{"name":"__idle__","properties":{"cluster":"c1"},"window":{"start":%q,"end":%q},"start":%q,"end":%q,"cpuCost":12.5,"ramCost":3.25,"gpuCost":0,"totalCost":15.75}`, start, end, start, end)
		fmt.Fprintf(&b, `,"__unallocated__":{"name":"__unallocated__","properties":{"cluster":"c1"},"window":{"start":%q,"end":%q},"start":%q,"end":%q,"cpuCost":0.5,"totalCost":0.5}`, start, end, start, end)
		b.WriteByte('}')
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func writeAllocation(b *bytes.Buffer, t, n, d int, start, end string) {
	ns := nsName(t, n)
	cpuHours := float64(1+(t*7+n*3+d)%48) / 2
	cpu := cpuHours * 0.03125
	ramHours := float64(1+(t+n+d)%64) * float64(1<<30) * 24
	ram := float64(1+(t+n+d)%64) * 24 * 0.00390625
	pv := float64((t+n)%5) * 0.0125
	total := cpu + ram + pv
	fmt.Fprintf(b, `%q:{"name":%q,"properties":{"cluster":"c1","namespace":%q,"namespaceLabels":{`, ns, ns, ns)
	if n%10 == 9 {
		path := treePath(t, n)
		fmt.Fprintf(b, `"tenancy_canopy_dev_tenant":%q`, nsName(t, 0))
		for i, anc := range path {
			fmt.Fprintf(b, `,"%s_tree_hnc_x_k8s_io_depth":"%d"`, sanitize(anc), len(path)-1-i)
		}
		b.WriteByte(',')
	}
	fmt.Fprintf(b, `"kubernetes_io_metadata_name":%q}},`, ns)
	fmt.Fprintf(b, `"window":{"start":%q,"end":%q},"start":%q,"end":%q,"minutes":1440,`, start, end, start, end)
	fmt.Fprintf(b, `"cpuCores":%g,"cpuCoreRequestAverage":%g,"cpuCoreUsageAverage":0.12345,"cpuCoreHours":%g,"cpuCost":%.5f,"cpuCostAdjustment":0,"cpuEfficiency":null,`, cpuHours/24, cpuHours/24, cpuHours, cpu)
	fmt.Fprintf(b, `"gpuCount":0,"gpuHours":0,"gpuCost":0,"gpuCostAdjustment":0,"networkTransferBytes":0,"networkReceiveBytes":0,"networkCost":0,"networkCostAdjustment":0,"loadBalancerCost":0,"loadBalancerCostAdjustment":0,`)
	fmt.Fprintf(b, `"pvBytes":0,"pvByteHours":0,"pvCost":%.5f,"pvs":null,"pvCostAdjustment":0,"ramBytes":%g,"ramByteRequestAverage":0,"ramByteUsageAverage":0,"ramByteHours":%g,"ramCost":%.5f,"ramCostAdjustment":0,"ramEfficiency":null,`, pv, ramHours/24, ramHours, ram)
	fmt.Fprintf(b, `"externalCost":0,"sharedCost":0,"totalCost":%.5f,"totalEfficiency":null,"rawAllocationOnly":null,"lbAllocations":null}`, total)
}

func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '-' || c == '.' || c == '/' {
			out[i] = '_'
		}
	}
	return string(out)
}
