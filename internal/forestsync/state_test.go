package forestsync

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// step applies one State and records what Apply returned.
type step struct {
	name string
	st   State
	want []string
}

func TestApply(t *testing.T) {
	exists := State{Exists: true}
	child := func(parent string) State { return State{Exists: true, Parent: parent} }
	tests := []struct {
		name  string
		steps []step
		// check runs on the forest afterwards, under the lock.
		check func(t *testing.T, f *forest.Forest)
	}{{
		name: "the HierarchyConfiguration's version is recorded, alone changing nothing derived",
		steps: []step{
			{"a", exists, []string{"a"}},
			{"b", State{Exists: true, Parent: "a", HCVersion: 40}, []string{"a", "b"}},
			{"b", State{Exists: true, Parent: "a", HCVersion: 41}, nil},
			{"c", State{Exists: true, HCVersion: 9}, []string{"c"}},
			{"c", State{}, []string{"c"}},
		},
		check: func(t *testing.T, f *forest.Forest) {
			if v := f.Lookup("b").HierarchyVersion(); v != 41 {
				t.Errorf("b's version = %d, want 41", v)
			}
			if v := f.Lookup("a").HierarchyVersion(); v != 0 {
				t.Errorf("a, without a HierarchyConfiguration: version %d, want 0", v)
			}
			if v := f.Lookup("c").HierarchyVersion(); v != 0 {
				t.Errorf("c, gone: version %d, want 0", v)
			}
		},
	}, {
		name: "new root reports only itself, unchanged state reports nothing",
		steps: []step{
			{"a", exists, []string{"a"}},
			{"a", exists, nil},
		},
	}, {
		name: "parent set reports self, parent and descendants",
		steps: []step{
			{"a", exists, []string{"a"}},
			{"b", exists, []string{"b"}},
			{"c", child("b"), []string{"b", "c"}},
			{"b", child("a"), []string{"a", "b", "c"}},
		},
		check: func(t *testing.T, f *forest.Forest) {
			if got := f.Get("c").AncestryNames(); !cmp.Equal(got, []string{"a", "b", "c"}) {
				t.Errorf("ancestry of c = %v", got)
			}
		},
	}, {
		name: "move reports old and new parent",
		steps: []step{
			{"a", exists, []string{"a"}},
			{"b", exists, []string{"b"}},
			{"c", child("a"), []string{"a", "c"}},
			{"c", child("b"), []string{"a", "b", "c"}},
		},
	}, {
		name: "deleted parent reports its children, which then miss their parent",
		steps: []step{
			{"a", exists, []string{"a"}},
			{"b", child("a"), []string{"a", "b"}},
			{"a", State{}, []string{"a", "b"}},
		},
		check: func(t *testing.T, f *forest.Forest) {
			b := f.Get("b")
			b.RefreshConditions()
			if !b.HasLocalCondition(forest.ReasonParentMissing) {
				t.Errorf("b conditions = %v, want ParentMissing", b.LocalConditions())
			}
		},
	}, {
		name: "cycle members are all reported",
		steps: []step{
			{"a", child("c"), []string{"a", "c"}},
			{"b", child("a"), []string{"a", "b"}},
			{"c", child("b"), []string{"a", "b", "c"}},
		},
		check: func(t *testing.T, f *forest.Forest) {
			if got := f.Get("b").CycleNames(); !cmp.Equal(got, []string{"a", "b", "c"}) {
				t.Errorf("cycle = %v", got)
			}
		},
	}, {
		name: "anchor change reports the anchor's namespace and the subnamespace only",
		steps: []step{
			{"p", exists, []string{"p"}},
			{"s", State{Exists: true, Parent: "p", SubnamespaceOf: "p"}, []string{"p", "s"}},
			{"p", State{Exists: true, Anchors: []string{"s"}}, []string{"p", "s"}},
			{"p", State{Exists: true}, []string{"p", "s"}},
		},
		check: func(t *testing.T, f *forest.Forest) {
			s := f.Get("s")
			s.RefreshConditions()
			if !s.HasLocalCondition(forest.ReasonAnchorMissing) {
				t.Errorf("s conditions = %v, want SubnamespaceAnchorMissing", s.LocalConditions())
			}
		},
	}, {
		name: "hierarchy fields are recorded",
		steps: []step{
			{"p", State{Exists: true, AllowCascadingDeletion: true, HCLabels: []api.MetaKVP{{Key: "k", Value: "v"}}}, []string{"p"}},
			{"s", State{Exists: true, Parent: "p", SubnamespaceOf: "p", AnchorFound: true, AnchorLabels: []api.MetaKVP{{Key: "x", Value: "y"}}}, []string{"p", "s"}},
		},
		check: func(t *testing.T, f *forest.Forest) {
			s := f.Get("s")
			if !s.AllowsCascadingDeletion() || !s.IsSub() {
				t.Errorf("s: cascading=%v sub=%v, want both true", s.AllowsCascadingDeletion(), s.IsSub())
			}
		},
	}, {
		name: "an absent namespace never seen leaves no placeholder",
		steps: []step{
			{"ghost", State{}, nil},
		},
		check: func(t *testing.T, f *forest.Forest) {
			if f.Len() != 0 {
				t.Errorf("forest holds %v", f.List())
			}
		},
	}, {
		name: "a deleted namespace with nothing left is forgotten",
		steps: []step{
			{"a", exists, []string{"a"}},
			{"a", State{}, []string{"a"}},
		},
		check: func(t *testing.T, f *forest.Forest) {
			if f.Lookup("a") != nil {
				t.Errorf("a still in forest: %v", f.List())
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := forest.New()
			f.Lock()
			defer f.Unlock()
			for i, s := range tc.steps {
				if diff := cmp.Diff(s.want, Apply(f, s.name, s.st)); diff != "" {
					t.Errorf("step %d (%s): affected (-want +got):\n%s", i, s.name, diff)
				}
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
}
