package hierarchy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// TestNewSubnamespaceModel checks that the Model the anchor reconciler
// creates a subnamespace with is the one TakeModel computes once the forest
// holds the subnamespace, so the hierarchy reconciler has nothing to patch.
func TestNewSubnamespaceModel(t *testing.T) {
	kvp := func(kv ...string) []api.MetaKVP {
		var out []api.MetaKVP
		for i := 0; i < len(kv); i += 2 {
			out = append(out, api.MetaKVP{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		build  func(f *forest.Forest) // builds the tree; the parent is "p"
		anchor api.SubnamespaceAnchorSpec
	}{{
		name: "root parent",
		build: func(f *forest.Forest) {
			f.Get("p").SetExists(true)
		},
	}, {
		name: "deep parent with managed metadata above",
		build: func(f *forest.Forest) {
			for _, nm := range []string{"r", "m", "p"} {
				f.Get(nm).SetExists(true)
			}
			f.Get("m").SetParent(f.Get("r"))
			f.Get("p").SetParent(f.Get("m"))
			f.Get("r").SetHierarchyMetadata(kvp("team.example.com/name", "r", "other", "x"), kvp("cost.example.com/centre", "42"))
			f.Get("m").SetHierarchyMetadata(kvp("team.example.com/name", "m"), nil)
		},
		anchor: api.SubnamespaceAnchorSpec{
			Labels:      kvp("team.example.com/name", "child", "team.example.com/tier", "gold", "unmanaged", "y"),
			Annotations: kvp("cost.example.com/centre", "7", "cost.example.com/owner", "ann"),
		},
	}, {
		name: "halted ancestor",
		build: func(f *forest.Forest) {
			for _, nm := range []string{"m", "p"} {
				f.Get(nm).SetExists(true)
			}
			f.Get("m").SetParent(f.Get("gone")) // ParentMissing halts m
			f.Get("p").SetParent(f.Get("m"))
		},
	}, {
		name: "parent in a cycle",
		build: func(f *forest.Forest) {
			for _, nm := range []string{"q", "p"} {
				f.Get(nm).SetExists(true)
			}
			f.Get("p").SetParent(f.Get("q"))
			f.Get("q").SetParent(f.Get("p"))
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := forest.NewWithConfig(mustConfig(t, forest.Options{
				ManagedLabels:      []string{`team\.example\.com/.*`},
				ManagedAnnotations: []string{`cost\.example\.com/.*`},
			}))
			f.Lock()
			defer f.Unlock()
			tc.build(f)
			for _, nm := range []string{"r", "m", "q", "p"} {
				if ns := f.Lookup(nm); ns != nil {
					ns.RefreshConditions()
				}
			}
			cfg := f.Config()
			before := NewSubnamespaceModel(cfg, f.Lookup("p"), "c", tc.anchor)

			// What forestsync records once the namespace and its
			// anchor are seen.
			c := f.Get("c")
			c.SetExists(true)
			c.SetIsSub(true)
			c.SetParent(f.Get("p"))
			f.Get("p").SetAnchors([]string{"c"})
			c.SetAnchorMetadata(tc.anchor.Labels, tc.anchor.Annotations)
			c.RefreshConditions()
			after := TakeModel(cfg, c, 0, nil, metav1.NewTime(time.Unix(1, 0)))
			after.Conditions, after.Children, after.HasAnchors = nil, nil, false

			if diff := cmp.Diff(after, before, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("model before creation differs from the one after (-after +before):\n%s", diff)
			}
			labels, _ := DesiredLabels(cfg, map[string]string{"keep": "me"}, before)
			if _, again := DesiredLabels(cfg, labels, after); again {
				t.Errorf("labels %v would be patched again", labels)
			}
		})
	}

	t.Run("excluded", func(t *testing.T) {
		f := forest.NewWithConfig(mustConfig(t, forest.Options{ExcludedNamespaces: []string{"c"}}))
		f.Lock()
		defer f.Unlock()
		f.Get("p").SetExists(true)
		if m := NewSubnamespaceModel(f.Config(), f.Lookup("p"), "c", api.SubnamespaceAnchorSpec{}); !m.Excluded {
			t.Errorf("model of an excluded namespace = %+v, want Excluded", m)
		}
	})
}
