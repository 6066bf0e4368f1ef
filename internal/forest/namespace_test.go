package forest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestAnchors(t *testing.T) {
	f := build(t, "a")
	a := f.Get("a")
	if diff := cmp.Diff([]string{"s1", "s2"}, a.SetAnchors([]string{"s2", "s1"})); diff != "" {
		t.Errorf("first SetAnchors diff (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"s1", "s3"}, a.SetAnchors([]string{"s2", "s3"})); diff != "" {
		t.Errorf("second SetAnchors diff (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"s2", "s3"}, a.AnchorNames()); diff != "" {
		t.Errorf("AnchorNames() (-want +got):\n%s", diff)
	}
	if !a.HasAnchor("s3") || a.HasAnchor("s1") {
		t.Errorf("HasAnchor: s3=%v s1=%v, want true false", a.HasAnchor("s3"), a.HasAnchor("s1"))
	}
	var missing *Namespace
	if missing.HasAnchor("s3") || missing.IsSub() || missing.Exists() {
		t.Errorf("nil namespace reports facts")
	}
}

func TestAllowsCascadingDeletion(t *testing.T) {
	tests := []struct {
		name  string
		allow []string
		ns    string
		want  bool
	}{
		{name: "nobody", ns: "d"},
		{name: "itself", allow: []string{"d"}, ns: "d", want: true},
		{name: "ancestor", allow: []string{"a"}, ns: "d", want: true},
		{name: "descendant does not count", allow: []string{"d"}, ns: "b"},
		{name: "sibling does not count", allow: []string{"e"}, ns: "d"},
		{name: "cycle terminates", ns: "w"},
		{name: "cycle member", allow: []string{"z"}, ns: "w", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := build(t, structureSpecs...)
			for _, nm := range tc.allow {
				if !f.Get(nm).SetAllowCascadingDeletion(true) {
					t.Fatalf("SetAllowCascadingDeletion reported no change")
				}
			}
			if got := f.Get(tc.ns).AllowsCascadingDeletion(); got != tc.want {
				t.Errorf("AllowsCascadingDeletion() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNamespaceLabelsAndSub(t *testing.T) {
	f := New()
	ns := f.Get("a")
	in := map[string]string{"k": "v"}
	if !ns.SetLabels(in) || ns.SetLabels(map[string]string{"k": "v"}) {
		t.Errorf("SetLabels did not report exactly one change")
	}
	in["k"] = "mutated"
	if diff := cmp.Diff(map[string]string{"k": "v"}, ns.Labels()); diff != "" {
		t.Errorf("Labels() (-want +got):\n%s", diff)
	}
	if !ns.SetIsSub(true) || ns.SetIsSub(true) || !ns.IsSub() {
		t.Errorf("SetIsSub did not report exactly one change")
	}
}

func TestSelectorLabels(t *testing.T) {
	cfg, err := Options{ManagedLabels: []string{"env", "tier"}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	f := buildWith(t, cfg, "a", "b:a")
	f.Get("a").SetHierarchyMetadata(kvps("env", "prod"), nil)
	b := f.Get("b")
	b.SetLabels(map[string]string{
		"own":                             "x",
		"env":                             "stale",
		"tier":                            "no longer set",
		"gone" + api.LabelTreeDepthSuffix: "1",
	})
	want := map[string]string{
		"own":                          "x",
		"env":                          "prod",
		"a" + api.LabelTreeDepthSuffix: "1",
		"b" + api.LabelTreeDepthSuffix: "0",
	}
	if diff := cmp.Diff(want, b.SelectorLabels()); diff != "" {
		t.Errorf("SelectorLabels() (-want +got):\n%s", diff)
	}
}
