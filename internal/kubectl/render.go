package kubectl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// treeRenderer draws a forest the way `kubectl hns tree` does: box-drawing
// connectors, `[s]` before subnamespaces, and condition footnotes numbered
// in the order they are first met. It is pure: it only reads the forest.
type treeRenderer struct {
	f               forest
	b               strings.Builder
	notes           []string
	noteIndex       map[string]int
	sawSubnamespace bool
}

// renderTrees renders the subtree under each root, then the legend and the
// footnotes.
func renderTrees(f forest, roots []string) string {
	r := &treeRenderer{f: f, noteIndex: map[string]int{}}
	for _, name := range roots {
		n := f.get(name)
		txt, cycle := r.label(n)
		r.b.WriteString(txt + "\n")
		r.subtree("", n, cycle, map[string]bool{name: true})
	}
	if r.sawSubnamespace {
		r.b.WriteString("\n[s] indicates subnamespaces\n")
	}
	if len(r.notes) > 0 {
		r.b.WriteString("\nConditions:\n")
		for i, n := range r.notes {
			fmt.Fprintf(&r.b, "%d) %s\n", i+1, n)
		}
	}
	return r.b.String()
}

// subtree draws n's children. Inside a cycle, other members of the cycle
// are not drawn again, and path guards against any loop the status might
// still describe.
func (r *treeRenderer) subtree(prefix string, n *node, inCycle bool, path map[string]bool) {
	type shown struct {
		n     *node
		txt   string
		cycle bool
	}
	var visible []shown
	for _, cn := range n.children {
		child := r.f.get(cn)
		txt, cycle := r.label(child)
		if (cycle && inCycle) || path[cn] {
			continue
		}
		if child.subnamespace {
			txt = "[s] " + txt
			r.sawSubnamespace = true
		}
		visible = append(visible, shown{child, txt, cycle})
	}
	for i, s := range visible {
		branch, indent := "├── ", "│   "
		if i == len(visible)-1 {
			branch, indent = "└── ", "    "
		}
		r.b.WriteString(prefix + branch + s.txt + "\n")
		path[s.n.name] = true
		r.subtree(prefix+indent, s.n, s.cycle, path)
		delete(path, s.n.name)
	}
}

// label is the namespace's name with its footnote numbers, and whether it
// is in a cycle.
func (r *treeRenderer) label(n *node) (string, bool) {
	var ids []int
	for _, c := range n.conditions {
		txt := fmt.Sprintf("%s (%s): %s", c.Type, c.Reason, c.Message)
		id, ok := r.noteIndex[txt]
		if !ok {
			r.notes = append(r.notes, txt)
			id = len(r.notes)
			r.noteIndex[txt] = id
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return n.name, false
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.Itoa(id)
	}
	return fmt.Sprintf("%s (%s)", n.name, strings.Join(strs, ",")), n.inCycle()
}
