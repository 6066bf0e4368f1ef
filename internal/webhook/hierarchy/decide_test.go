package hierarchy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// Two trees: a <- b <- c, a <- d and x <- y; s is a subnamespace of a;
// lone is a root.
func newForest(t *testing.T) *forest.Forest {
	cfg, err := forest.Options{ManagerNamespace: "canopy-system", ManagedAnnotations: []string{"cost"}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	f := forest.NewWithConfig(cfg)
	f.Lock()
	defer f.Unlock()
	for _, nm := range []string{"a", "b", "c", "d", "x", "y", "s", "lone"} {
		f.Get(nm).SetExists(true)
	}
	for child, parent := range map[string]string{"b": "a", "c": "b", "d": "a", "y": "x", "s": "a"} {
		f.Get(child).SetParent(f.Get(parent))
	}
	f.Get("s").SetIsSub(true)
	return f
}

func hc(ns, parent string) *api.HierarchyConfiguration {
	return &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: api.Singleton}, Spec: api.HierarchyConfigurationSpec{Parent: parent}}
}

func TestDecide(t *testing.T) {
	f := newForest(t)
	wrongName := hc("lone", "a")
	wrongName.Name = "other"
	badAnnot := hc("lone", "")
	badAnnot.Spec.Annotations = []api.MetaKVP{{Key: "nope", Value: "v"}}
	goodAnnot := hc("lone", "")
	goodAnnot.Spec.Annotations = []api.MetaKVP{{Key: "cost", Value: "v"}}
	tests := []struct {
		name     string
		req      Request
		wantDeny string
	}{
		{"wrong name", Request{New: wrongName}, "must be named \"hierarchy\""},
		{"root joins a tree", Request{New: hc("lone", "c")}, ""},
		{"parent is itself", Request{Old: hc("a", ""), New: hc("a", "a")}, "would create a cycle"},
		{"parent is a descendant", Request{Old: hc("a", ""), New: hc("a", "c")}, "would create a cycle"},
		{"parent missing", Request{New: hc("lone", "ghost")}, "does not exist"},
		{"parent excluded", Request{New: hc("lone", "kube-system")}, "cannot be a parent"},
		{"excluded namespace gets a parent", Request{New: hc("kube-public", "a")}, "cannot have a parent"},
		{"subnamespace moves", Request{Old: hc("s", "a"), New: hc("s", "x")}, "is a subnamespace"},
		{"manager sets a subnamespace's parent", Request{New: hc("s", "a"), FromManager: true}, ""},
		{"unchanged parent with other edits", Request{Old: hc("c", "b"), New: hc("c", "b")}, ""},
		{"illegal managed annotation", Request{New: badAnnot}, "invalid spec.annotations"},
		{"legal managed annotation", Request{New: goodAnnot}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.Lock()
			got := Decide(f, tc.req)
			f.Unlock()
			if (tc.wantDeny == "") != (got == "") || !strings.Contains(got, tc.wantDeny) {
				t.Errorf("Decide = %q, want denial containing %q", got, tc.wantDeny)
			}
		})
	}
}

func TestAuthzNamespaces(t *testing.T) {
	f := newForest(t)
	tests := []struct {
		name           string
		ns, oldP, newP string
		want           []string
	}{
		{"within a tree: common ancestor", "c", "b", "d", []string{"a"}},
		{"down within a branch: common ancestor is the old parent", "d", "a", "b", []string{"a"}},
		{"root into a tree: new parent", "lone", "", "c", []string{"c"}},
		{"becoming a root: old root", "c", "b", "", []string{"a"}},
		{"across trees: old root and new parent", "c", "b", "y", []string{"a", "y"}},
		{"missing old parent: new parent only", "c", "ghost", "y", []string{"y"}},
		{"no move", "c", "b", "b", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.Lock()
			got := AuthzNamespaces(f, tc.ns, tc.oldP, tc.newP)
			f.Unlock()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("AuthzNamespaces (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideDelete(t *testing.T) {
	f := newForest(t)
	f.Lock()
	defer f.Unlock()
	tests := []struct {
		ns         string
		wantWhy    string
		wantChecks []string
	}{
		{"lone", "", nil},               // a root: nothing changes
		{"a", "", nil},                  // a root with children
		{"c", "", []string{"a"}},        // leaving the tree needs the old root
		{"s", "is a subnamespace", nil}, // a subnamespace's parent is its anchor's
	}
	for _, tc := range tests {
		why, checks := DecideDelete(f, tc.ns)
		if (tc.wantWhy == "") != (why == "") || !strings.Contains(why, tc.wantWhy) {
			t.Errorf("DecideDelete(%q) = %q, want %q", tc.ns, why, tc.wantWhy)
		}
		if diff := cmp.Diff(tc.wantChecks, checks); diff != "" {
			t.Errorf("DecideDelete(%q) checks (-want +got):\n%s", tc.ns, diff)
		}
	}
}
