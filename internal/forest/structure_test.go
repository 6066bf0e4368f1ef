package forest

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// A forest used by several tests:
//
//	a ── b ── c ── d
//	     └─ e
//	x ── y ── z ── x  (cycle)
//	     └─ w         (below the cycle)
//	p ⇄ p              (self-parent)
var structureSpecs = []string{"b:a", "c:b", "d:c", "e:b", "x:z", "y:x", "z:y", "w:y", "p:p"}

func TestAncestryNames(t *testing.T) {
	tests := []struct {
		ns   string
		want []string
	}{
		{ns: "a", want: []string{"a"}},
		{ns: "d", want: []string{"a", "b", "c", "d"}},
		{ns: "e", want: []string{"a", "b", "e"}},
		{ns: "x", want: []string{"y", "z", "x"}},
		{ns: "w", want: []string{"z", "x", "y", "w"}},
		{ns: "p", want: []string{"p"}},
	}
	f := build(t, structureSpecs...)
	for _, tc := range tests {
		t.Run(tc.ns, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, f.Get(tc.ns).AncestryNames()); diff != "" {
				t.Errorf("AncestryNames() (-want +got):\n%s", diff)
			}
			if got, want := f.Get(tc.ns).Depth(), len(tc.want)-1; got != want {
				t.Errorf("Depth() = %d, want %d", got, want)
			}
		})
	}
}

func TestCycleNames(t *testing.T) {
	tests := []struct {
		ns   string
		want []string
	}{
		{ns: "a"},
		{ns: "d"},
		// x is the parent of y, y of z and z of x.
		{ns: "x", want: []string{"x", "y", "z"}},
		{ns: "y", want: []string{"x", "y", "z"}},
		{ns: "z", want: []string{"x", "y", "z"}},
		{ns: "w"},
		{ns: "p", want: []string{"p"}},
	}
	f := build(t, structureSpecs...)
	for _, tc := range tests {
		t.Run(tc.ns, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, f.Get(tc.ns).CycleNames()); diff != "" {
				t.Errorf("CycleNames() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsAncestorAndWouldCreateCycle(t *testing.T) {
	tests := []struct {
		ns, other string
		want      bool
		cycle     bool // WouldCreateCycle(ns.SetParent(other))
	}{
		{ns: "d", other: "a", want: true},
		{ns: "d", other: "c", want: true},
		{ns: "a", other: "d", want: false, cycle: true},
		{ns: "d", other: "d", want: false, cycle: true},
		{ns: "e", other: "d", want: false},
		{ns: "d", other: "e", want: false},
		{ns: "w", other: "x", want: true},
		{ns: "x", other: "x", want: true, cycle: true},
		{ns: "x", other: "w", want: false, cycle: true},
		{ns: "a", other: "x", want: false},
	}
	f := build(t, structureSpecs...)
	for _, tc := range tests {
		t.Run(tc.ns+"/"+tc.other, func(t *testing.T) {
			ns, other := f.Get(tc.ns), f.Get(tc.other)
			if got := ns.IsAncestor(other); got != tc.want {
				t.Errorf("%s.IsAncestor(%s) = %v, want %v", tc.ns, tc.other, got, tc.want)
			}
			if got := ns.WouldCreateCycle(other); got != tc.cycle {
				t.Errorf("%s.WouldCreateCycle(%s) = %v, want %v", tc.ns, tc.other, got, tc.cycle)
			}
		})
	}
}

func TestChildAndDescendantNames(t *testing.T) {
	tests := []struct {
		ns          string
		children    []string
		descendants []string
	}{
		{ns: "a", children: []string{"b"}, descendants: []string{"b", "c", "d", "e"}},
		{ns: "b", children: []string{"c", "e"}, descendants: []string{"c", "d", "e"}},
		{ns: "d"},
		{ns: "x", children: []string{"y"}, descendants: []string{"w", "y", "z"}},
		{ns: "y", children: []string{"w", "z"}, descendants: []string{"w", "x", "z"}},
		{ns: "p", children: []string{"p"}},
	}
	f := build(t, structureSpecs...)
	for _, tc := range tests {
		t.Run(tc.ns, func(t *testing.T) {
			ns := f.Get(tc.ns)
			if diff := cmp.Diff(tc.children, ns.ChildNames()); diff != "" {
				t.Errorf("ChildNames() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.descendants, ns.DescendantNames()); diff != "" {
				t.Errorf("DescendantNames() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetParentMovesChild(t *testing.T) {
	f := build(t, structureSpecs...)
	c := f.Get("c")
	if !c.SetParent(f.Get("e")) {
		t.Fatalf("SetParent reported no change")
	}
	if c.SetParent(f.Get("e")) {
		t.Errorf("second SetParent reported a change")
	}
	if diff := cmp.Diff([]string{"e"}, f.Get("b").ChildNames()); diff != "" {
		t.Errorf("b.ChildNames() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "e", "c", "d"}, f.Get("d").AncestryNames()); diff != "" {
		t.Errorf("d.AncestryNames() (-want +got):\n%s", diff)
	}
	// Closing a cycle is allowed and reported.
	f.Get("a").SetParent(f.Get("d"))
	if diff := cmp.Diff([]string{"a", "b", "e", "c", "d"}, f.Get("c").CycleNames()); diff != "" {
		t.Errorf("c.CycleNames() after closing the cycle (-want +got):\n%s", diff)
	}
}

func tl(pairs ...string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(pairs); i += 2 {
		out[pairs[i]+api.LabelTreeDepthSuffix] = pairs[i+1]
	}
	return out
}

func TestTreeLabels(t *testing.T) {
	tests := []struct {
		name   string
		ns     string
		halted string // namespace given a local ActivitiesHalted condition
		want   map[string]string
	}{
		{name: "root", ns: "a", want: tl("a", "0")},
		{name: "deep", ns: "d", want: tl("d", "0", "c", "1", "b", "2", "a", "3")},
		{name: "in cycle: only itself", ns: "y", want: tl("y", "0")},
		{name: "self-parent", ns: "p", want: tl("p", "0")},
		{name: "below cycle: up to the first member", ns: "w", want: tl("w", "0", "y", "1")},
		{name: "stops after halted ancestor", ns: "d", halted: "b", want: tl("d", "0", "c", "1", "b", "2")},
		{name: "halted itself", ns: "c", halted: "c", want: tl("c", "0")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := build(t, structureSpecs...)
			if tc.halted != "" {
				f.Get(tc.halted).SetLocalCondition(ReasonParentMissing, "gone")
			}
			if diff := cmp.Diff(tc.want, f.Get(tc.ns).TreeLabels()); diff != "" {
				t.Errorf("TreeLabels() (-want +got):\n%s", diff)
			}
		})
	}
}

// chain returns a forest holding a chain n0 ── n1 ── … ── n(depth-1).
func chain(t testing.TB, depth int) *Forest {
	f := New()
	prev := f.Get("n0")
	prev.SetExists(true)
	for i := 1; i < depth; i++ {
		ns := f.Get("n" + strconv.Itoa(i))
		ns.SetExists(true)
		ns.SetParent(prev)
		prev = ns
	}
	return f
}

func TestDeepChain(t *testing.T) {
	const depth = 1000
	f := chain(t, depth)
	leaf := f.Get(fmt.Sprintf("n%d", depth-1))
	anc := leaf.AncestryNames()
	if len(anc) != depth || anc[0] != "n0" || anc[depth-1] != leaf.Name() {
		t.Fatalf("AncestryNames() has %d names from %q to %q, want %d from n0 to %s", len(anc), anc[0], anc[len(anc)-1], depth, leaf.Name())
	}
	if got := leaf.TreeLabels()["n0"+api.LabelTreeDepthSuffix]; got != strconv.Itoa(depth-1) {
		t.Errorf("leaf tree label for n0 = %q, want %d", got, depth-1)
	}
	if got := len(f.Get("n0").DescendantNames()); got != depth-1 {
		t.Errorf("len(n0.DescendantNames()) = %d, want %d", got, depth-1)
	}
	// Closing the chain into one big cycle must still terminate.
	f.Get("n0").SetParent(leaf)
	if got := len(f.Get("n500").CycleNames()); got != depth {
		t.Errorf("len(CycleNames()) = %d, want %d", got, depth)
	}
}

func BenchmarkAncestryNamesDeepChain(b *testing.B) {
	for _, depth := range []int{100, 1000, 10000} {
		f := chain(b, depth)
		leaf := f.Get(fmt.Sprintf("n%d", depth-1))
		b.Run(strconv.Itoa(depth), func(b *testing.B) {
			for b.Loop() {
				if len(leaf.AncestryNames()) != depth {
					b.Fatal("wrong ancestry length")
				}
			}
		})
	}
}

func BenchmarkTreeLabelsDeepChain(b *testing.B) {
	f := chain(b, 1000)
	leaf := f.Get("n999")
	for b.Loop() {
		if len(leaf.TreeLabels()) != 1000 {
			b.Fatal("wrong number of tree labels")
		}
	}
}

// TestAncestryNamesAllocations guards against an O(depth²) walk (for
// example one that prepends to a slice at every step).
func TestAncestryNamesAllocations(t *testing.T) {
	f := chain(t, 1000)
	leaf := f.Get("n999")
	if allocs := testing.AllocsPerRun(10, func() { leaf.AncestryNames() }); allocs > 20 {
		t.Errorf("AncestryNames() on a 1000-deep chain made %.0f allocations, want at most 20", allocs)
	}
}
