package forest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func kvps(pairs ...string) []api.MetaKVP {
	var out []api.MetaKVP
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, api.MetaKVP{Key: pairs[i], Value: pairs[i+1]})
	}
	return out
}

func TestManagedMetadata(t *testing.T) {
	cfg, err := Options{
		ManagedLabels:      []string{`team`, `env`, `tier`},
		ManagedAnnotations: []string{`owner`},
	}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	type meta struct {
		hc, anchor  []api.MetaKVP
		hcAnnots    []api.MetaKVP
		isSub       bool
		withAnchor  bool
		haltedLocal bool
	}
	tests := []struct {
		name       string
		meta       map[string]meta
		ns         string
		wantLabels map[string]string
		wantAnnots map[string]string
	}{
		{name: "none", ns: "c"},
		{
			name:       "inherited from every ancestor",
			meta:       map[string]meta{"a": {hc: kvps("team", "t1")}, "b": {hc: kvps("env", "dev"), hcAnnots: kvps("owner", "bob")}, "c": {hc: kvps("tier", "web")}},
			ns:         "c",
			wantLabels: map[string]string{"team": "t1", "env": "dev", "tier": "web"},
			wantAnnots: map[string]string{"owner": "bob"},
		},
		{
			name:       "ancestor wins a conflict",
			meta:       map[string]meta{"a": {hc: kvps("env", "prod")}, "c": {hc: kvps("env", "dev")}},
			ns:         "c",
			wantLabels: map[string]string{"env": "prod"},
		},
		{
			name:       "illegal keys are dropped",
			meta:       map[string]meta{"a": {hc: kvps("team", "t1", "cost", "x"), hcAnnots: kvps("nope", "x")}},
			ns:         "c",
			wantLabels: map[string]string{"team": "t1"},
		},
		{
			name:       "anchor metadata replaces a subnamespace's own",
			meta:       map[string]meta{"c": {hc: kvps("env", "dev"), anchor: kvps("tier", "db"), isSub: true, withAnchor: true}},
			ns:         "c",
			wantLabels: map[string]string{"tier": "db"},
		},
		{
			name:       "anchor metadata ignored on a full namespace",
			meta:       map[string]meta{"c": {hc: kvps("env", "dev"), anchor: kvps("tier", "db"), withAnchor: true}},
			ns:         "c",
			wantLabels: map[string]string{"env": "dev"},
		},
		{
			name:       "nothing from above a halted ancestor",
			meta:       map[string]meta{"a": {hc: kvps("team", "t1")}, "b": {hc: kvps("env", "dev"), haltedLocal: true}},
			ns:         "c",
			wantLabels: map[string]string{"env": "dev"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := buildWith(t, cfg, "a", "b:a", "c:b")
			for nm, m := range tc.meta {
				ns := f.Get(nm)
				ns.SetHierarchyMetadata(m.hc, m.hcAnnots)
				ns.SetIsSub(m.isSub)
				if m.withAnchor {
					ns.SetAnchorMetadata(m.anchor, nil)
				}
				if m.haltedLocal {
					ns.SetLocalCondition(ReasonDeletingCRD, "deleting")
				}
			}
			ns := f.Get(tc.ns)
			if diff := cmp.Diff(tc.wantLabels, ns.ManagedLabels()); diff != "" {
				t.Errorf("ManagedLabels() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantAnnots, ns.ManagedAnnotations()); diff != "" {
				t.Errorf("ManagedAnnotations() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMetadataSettersReportChange(t *testing.T) {
	f := New()
	ns := f.Get("a")
	if !ns.SetHierarchyMetadata(kvps("k", "v"), nil) || ns.SetHierarchyMetadata(kvps("k", "v"), nil) {
		t.Errorf("SetHierarchyMetadata did not report exactly one change")
	}
	if !ns.SetAnchorMetadata(nil, nil) || ns.SetAnchorMetadata(nil, nil) {
		t.Errorf("SetAnchorMetadata did not report exactly one change")
	}
	if !ns.ClearAnchorMetadata() || ns.ClearAnchorMetadata() {
		t.Errorf("ClearAnchorMetadata did not report exactly one change")
	}
}
