package propagation

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

func TestSelectSource(t *testing.T) {
	plain := func(ns string) *unstructured.Unstructured { return object(roleGVK, ns, "r", nil) }
	annotated := func(ns, k, v string) *unstructured.Unstructured {
		return object(roleGVK, ns, "r", map[string]string{k: v})
	}
	withFinalizer := plain("root")
	withFinalizer.SetFinalizers([]string{"x/y"})
	destLabels := map[string]string{"leaf" + api.LabelTreeDepthSuffix: "0", "env": "dev"}

	tests := []struct {
		name       string
		candidates []*unstructured.Unstructured
		mode       api.SynchronizationMode
		wantNS     string // "" for none
		errHas     string
	}{
		{name: "none", mode: api.Propagate},
		{name: "top-most wins", candidates: []*unstructured.Unstructured{plain("root"), plain("mid")}, mode: api.Propagate, wantNS: "root"},
		{name: "top-most excluded by selector", candidates: []*unstructured.Unstructured{annotated("root", api.AnnotationSelector, "env=prod"), plain("mid")}, mode: api.Propagate, wantNS: "mid"},
		{name: "top-most not propagatable", candidates: []*unstructured.Unstructured{withFinalizer, plain("mid")}, mode: api.Propagate, wantNS: "mid"},
		{name: "AllowPropagate needs an annotation", candidates: []*unstructured.Unstructured{plain("root"), annotated("mid", api.AnnotationAllSelector, "true")}, mode: api.AllowPropagate, wantNS: "mid"},
		{name: "bad selector skipped and reported", candidates: []*unstructured.Unstructured{annotated("root", api.AnnotationSelector, "(("), plain("mid")}, mode: api.Propagate, wantNS: "mid", errHas: "root/r"},
		{name: "Remove selects nothing", candidates: []*unstructured.Unstructured{plain("root")}, mode: api.Remove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SelectSource(tc.candidates, tc.mode, "leaf", destLabels, DefaultConfig())
			gotNS := ""
			if got != nil {
				gotNS = got.GetNamespace()
			}
			if gotNS != tc.wantNS {
				t.Errorf("SelectSource() picked the source in %q, want %q", gotNS, tc.wantNS)
			}
			if (err != nil) != (tc.errHas != "") || err != nil && !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("SelectSource() error = %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}

func TestFindConflicts(t *testing.T) {
	// root ── team ── dev
	//             └─ prod
	f := forest.New()
	for _, e := range [][2]string{{"root", ""}, {"team", "root"}, {"dev", "team"}, {"prod", "team"}} {
		ns := f.Get(e[0])
		ns.SetExists(true)
		ns.SetParent(f.Get(e[1]))
	}
	add := func(ns, name string, annots map[string]string) {
		f.Get(ns).SetSourceObject(object(roleGVK, ns, name, annots))
	}
	add("root", "shared", nil)
	add("dev", "shared", nil)                                                       // conflicts with root
	add("team", "only-prod", map[string]string{api.AnnotationTreeSelector: "prod"}) // reaches prod only
	add("dev", "only-prod", nil)                                                    // no conflict
	add("prod", "only-prod", nil)                                                   // conflict
	add("team", "mine", nil)                                                        // nothing above

	got := FindConflicts(f, roleGVK, api.Propagate, DefaultConfig())
	want := []*ConflictError{
		{GroupKind: roleGVK.GroupKind(), Name: "shared", Namespace: "dev", SourceNamespace: "root"},
		{GroupKind: roleGVK.GroupKind(), Name: "only-prod", Namespace: "prod", SourceNamespace: "team"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindConflicts(Propagate) (-want +got):\n%s", diff)
	}
	if got := FindConflicts(f, roleGVK, api.AllowPropagate, DefaultConfig()); len(got) != 1 || got[0].Namespace != "prod" {
		t.Errorf("FindConflicts(AllowPropagate) = %v, want only the treeSelect conflict in prod", got)
	}
	if got := FindConflicts(f, roleGVK, api.Remove, DefaultConfig()); got != nil {
		t.Errorf("FindConflicts(Remove) = %v, want none", got)
	}
}
