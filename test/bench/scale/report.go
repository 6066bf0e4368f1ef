package scale

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// results are figures by run, size and system name.
type results map[int]map[int]map[string]figures

func (r results) add(run, n int, sys string, f figures) {
	if r[run] == nil {
		r[run] = map[int]map[string]figures{}
	}
	if r[run][n] == nil {
		r[run][n] = map[string]figures{}
	}
	r[run][n][sys] = f
}

// row is one line of the table: a figure of each system, and of the
// floor where it has one.
type row struct {
	label string
	unit  string // "s", "ms", "MiB", "" (a count), "×" (a ratio)
	// value is the figure of a system's run; floor that of the floor's run
	// (nil: the floor has none, and there is no ratio to it).
	value, floor func(figures) (float64, bool)
}

func key(k string) func(figures) (float64, bool) {
	return func(f figures) (float64, bool) { v, ok := f[k]; return v, ok }
}

func ratioOf(a, b string) func(figures) (float64, bool) {
	return func(f figures) (float64, bool) {
		x, ok1 := f[a]
		y, ok2 := f[b]
		if !ok1 || !ok2 || y == 0 {
			return 0, false
		}
		return x / y, true
	}
}

func rows(quotaSizes []int) []row {
	rs := []row{
		{label: "tree through spec.parent", unit: "s", value: key("tree-parent"), floor: key("tree-parent")},
		{label: "tree through anchors", unit: "s", value: key("tree-anchors"), floor: key("tree-anchors")},
		{label: "propagation: Role + RoleBinding created at the root, until every descendant holds both", unit: "s", value: key("prop-create"), floor: key("prop-create")},
		{label: "propagation: both updated, until every copy is", unit: "s", value: key("prop-update"), floor: key("prop-update")},
		{label: "propagation: both deleted, until no copy is left", unit: "s", value: key("prop-delete"), floor: key("prop-delete")},
		{label: "restart to ready after a graceful stop", unit: "s", value: key("restart-graceful")},
		{label: "writes by that restart (nothing changed)", value: key("restart-graceful-writes")},
		{label: "dry-run cycles allowed while it started", value: key("restart-graceful-cycles")},
		{label: "restart to ready after SIGKILL", unit: "s", value: key("restart-kill")},
		{label: "writes by that restart (nothing changed)", value: key("restart-kill-writes")},
		{label: "dry-run cycles allowed while it started", value: key("restart-kill-cycles")},
		{label: "manager peak RSS", unit: "MiB", value: key("rss")},
		{label: "manager CPU during the tree through spec.parent", unit: "s", value: key("cpu-tree-parent")},
		{label: "manager CPU during the tree through anchors", unit: "s", value: key("cpu-tree-anchors")},
		{label: "manager CPU during propagation: create and update", unit: "s", value: key("cpu-prop")},
	}
	rs = append(rs, row{label: "kube-controller-manager filling every new ResourceQuota's status, waited for before the quota figures", unit: "s", value: key("qsettle")})
	for _, s := range quotaSizes {
		for _, p := range []string{"p50", "p99"} {
			q := func(kind string) string { return fmt.Sprintf("q%d-%s-%s", s, kind, p) }
			rs = append(rs,
				row{label: fmt.Sprintf("pod create %s under a hierarchical quota, subtree of %d (floor: plain ResourceQuota, no manager)", p, s),
					unit: "ms", value: key(q("hrq")), floor: key(q("plain"))},
				row{label: fmt.Sprintf("  ÷ plain ResourceQuota, same control plane, %s", p), unit: "×", value: ratioOf(q("hrq"), q("plain"))},
				row{label: fmt.Sprintf("  ÷ no quota, same control plane, %s", p), unit: "×", value: ratioOf(q("hrq"), q("free"))},
				row{label: fmt.Sprintf("  ÷ plain ResourceQuota behind a no-op webhook (the floor of any webhook), same control plane, %s", p),
					unit: "×", value: ratioOf(q("hrq"), q("hooked"))},
				row{label: fmt.Sprintf("  plain ResourceQuota behind a no-op webhook ÷ plain ResourceQuota, same control plane, %s", p),
					unit: "×", value: ratioOf(q("hooked"), q("plain")), floor: ratioOf(q("hooked"), q("plain"))},
			)
		}
		rs = append(rs,
			row{label: fmt.Sprintf("  the API server's ResourceQuota admission, mean per pod, subtree of %d (both quotas' pods)", s), unit: "ms", value: key(fmt.Sprintf("q%d-plugin-ms", s))},
			row{label: fmt.Sprintf("  Canopy's singleton-status webhook as the API server timed it, mean per call, subtree of %d", s), unit: "ms", value: key(fmt.Sprintf("q%d-webhook-ms", s))},
			row{label: fmt.Sprintf("  the no-op webhook as the API server timed it, mean per call, subtree of %d", s), unit: "ms", value: key(fmt.Sprintf("q%d-noop-ms", s)), floor: key(fmt.Sprintf("q%d-noop-ms", s))},
			row{label: fmt.Sprintf("  its calls per pod created under the hierarchical quota, subtree of %d", s), unit: "per", value: key(fmt.Sprintf("q%d-webhook-calls", s))},
			row{label: fmt.Sprintf("  ResourceQuota status updates (any writer, any namespace) per such pod, subtree of %d", s), unit: "per", value: key(fmt.Sprintf("q%d-status-writes", s))},
			row{label: fmt.Sprintf("  of them refused with a conflict, per such pod, subtree of %d", s), unit: "per", value: key(fmt.Sprintf("q%d-status-conflicts", s))},
		)
	}
	return rs
}

// median of the values of the runs that have one.
func median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func format(v float64, ok bool, unit string) string {
	if !ok || math.IsNaN(v) {
		return "—"
	}
	switch unit {
	case "s":
		return fmt.Sprintf("%.2f s", v)
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "MiB":
		return fmt.Sprintf("%.0f MiB", v)
	case "×":
		return fmt.Sprintf("%.2f×", v)
	case "per":
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// table renders the medians of every figure, and the medians of each
// run's ratio to the floor, as Markdown.
func (r results) table(sizes []int, systems []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| N | figure | floor | %s |", strings.Join(systems, " | "))
	for _, s := range systems {
		fmt.Fprintf(&b, " %s ÷ floor |", s)
	}
	b.WriteString("\n|---|---|---|" + strings.Repeat("---|", 2*len(systems)) + "\n")
	for _, n := range sizes {
		for _, rw := range rows([]int{10, n}) {
			var line []string
			line = append(line, fmt.Sprintf("%d", n), rw.label)
			var floorVals []float64
			if rw.floor != nil {
				for run := range r {
					if v, ok := rw.floor(r[run][n]["floor"]); ok {
						floorVals = append(floorVals, v)
					}
				}
			}
			fv, fok := median(floorVals)
			line = append(line, format(fv, fok, rw.unit))
			var ratios []string
			for _, sys := range systems {
				var vals, rats []float64
				for run := range r {
					v, ok := rw.value(r[run][n][sys])
					if !ok {
						continue
					}
					vals = append(vals, v)
					if rw.floor != nil {
						if f, ok := rw.floor(r[run][n]["floor"]); ok && f > 0 {
							rats = append(rats, v/f)
						}
					}
				}
				v, ok := median(vals)
				line = append(line, format(v, ok, rw.unit))
				rv, rok := median(rats)
				ratios = append(ratios, format(rv, rok, "×"))
			}
			line = append(line, ratios...)
			b.WriteString("| " + strings.Join(line, " | ") + " |\n")
		}
	}
	return b.String()
}
