package forest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// build returns a forest from specs "name" (a root) or "name:parent"; every
// named namespace exists, parents included.
func build(t testing.TB, specs ...string) *Forest {
	t.Helper()
	return buildWith(t, DefaultConfig("canopy-system"), specs...)
}

func buildWith(t testing.TB, cfg Config, specs ...string) *Forest {
	t.Helper()
	f := NewWithConfig(cfg)
	for _, s := range specs {
		nm, parent, _ := strings.Cut(s, ":")
		ns := f.Get(nm)
		ns.SetExists(true)
		if parent != "" {
			p := f.Get(parent)
			p.SetExists(true)
			ns.SetParent(p)
		}
	}
	return f
}

func TestGetLookupList(t *testing.T) {
	f := New()
	if got := f.Lookup("a"); got != nil {
		t.Fatalf("Lookup on empty forest = %v, want nil", got.Name())
	}
	if got := f.Get(""); got != nil {
		t.Fatalf("Get(\"\") = %q, want nil", got.Name())
	}
	a := f.Get("a")
	if a.Exists() {
		t.Errorf("placeholder a exists")
	}
	if f.Get("a") != a || f.Lookup("a") != a {
		t.Errorf("Get/Lookup returned a different namespace for a")
	}
	f.Get("c")
	f.Get("b")
	if diff := cmp.Diff([]string{"a", "b", "c"}, f.List()); diff != "" {
		t.Errorf("List() (-want +got):\n%s", diff)
	}
	if f.Len() != 3 {
		t.Errorf("Len() = %d, want 3", f.Len())
	}
}

func TestRoots(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  []string
	}{
		{name: "empty"},
		{name: "two trees", specs: []string{"a", "b:a", "x", "y:x"}, want: []string{"a", "x"}},
		{name: "cycle has no root", specs: []string{"a:b", "b:a", "c"}, want: []string{"c"}},
		{name: "tree under a cycle", specs: []string{"a:b", "b:a", "c:a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := build(t, tc.specs...)
			if diff := cmp.Diff(tc.want, f.Roots()); diff != "" {
				t.Errorf("Roots() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestForgetUnusedPlaceholders(t *testing.T) {
	tests := []struct {
		name string
		act  func(f *Forest)
		want []string
	}{
		{
			name: "missing parent is kept while it has a child",
			act:  func(f *Forest) { f.Get("child").SetParent(f.Get("ghost")) },
			want: []string{"a", "b", "child", "ghost"},
		},
		{
			name: "missing parent is forgotten when the child leaves",
			act: func(f *Forest) {
				f.Get("child").SetParent(f.Get("ghost"))
				f.Get("child").SetParent(nil)
			},
			want: []string{"a", "b", "child"},
		},
		{
			name: "deleted leaf is forgotten and leaves its parent",
			act:  func(f *Forest) { f.Get("b").SetExists(false) },
			want: []string{"a", "child"},
		},
		{
			name: "deleted namespace with children is kept",
			act:  func(f *Forest) { f.Get("a").SetExists(false) },
			want: []string{"a", "b", "child"},
		},
		{
			name: "deleted namespace with a source is kept until the source goes",
			act: func(f *Forest) {
				b := f.Get("b")
				b.SetSourceObject(obj(roleGVK, "b", "r1"))
				b.SetExists(false)
			},
			want: []string{"a", "b", "child"},
		},
		{
			name: "deleted namespace is forgotten with its last source",
			act: func(f *Forest) {
				b := f.Get("b")
				b.SetSourceObject(obj(roleGVK, "b", "r1"))
				b.SetExists(false)
				b.DeleteSourceObject(roleGVK, "r1")
			},
			want: []string{"a", "child"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := build(t, "a", "b:a", "child")
			tc.act(f)
			if diff := cmp.Diff(tc.want, f.List()); diff != "" {
				t.Errorf("List() (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("deleted namespace loses its parent", func(t *testing.T) {
		f := build(t, "a", "b:a", "c:b")
		if !f.Get("b").SetExists(false) {
			t.Fatalf("SetExists(false) reported no change")
		}
		if diff := cmp.Diff([]string(nil), f.Get("a").ChildNames()); diff != "" {
			t.Errorf("a.ChildNames() (-want +got):\n%s", diff)
		}
		if got := f.Get("b").Parent(); got != nil {
			t.Errorf("b.Parent() = %q, want nil", got.Name())
		}
		if f.Get("b").SetExists(false) {
			t.Errorf("second SetExists(false) reported a change")
		}
	})
}

func TestStructureVersion(t *testing.T) {
	f := New()
	f.Lock()
	defer f.Unlock()
	v := f.StructureVersion()
	step := func(what string, change func(), changes bool) {
		t.Helper()
		change()
		if got := f.StructureVersion(); (got != v) != changes {
			t.Errorf("%s: version %d -> %d, want changed=%v", what, v, got, changes)
		}
		v = f.StructureVersion()
	}
	step("a namespace appears", func() { f.Get("a").SetExists(true) }, true)
	step("seen again", func() { f.Get("a").SetExists(true) }, false)
	step("b appears", func() { f.Get("b").SetExists(true) }, true)
	step("b moves under a", func() { f.Get("b").SetParent(f.Get("a")) }, true)
	step("the same parent again", func() { f.Get("b").SetParent(f.Get("a")) }, false)
	step("a label changes", func() { f.Get("b").SetLabels(map[string]string{"x": "y"}) }, false)
	step("b is deleted", func() { f.Get("b").SetExists(false) }, true)
}
