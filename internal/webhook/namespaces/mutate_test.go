package namespaces

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/forest"
)

func TestIncludedLabels(t *testing.T) {
	cfg := forest.DefaultConfig("canopy-system")
	onlyTeams, err := forest.Options{IncludedNamespacesRegex: "team-.*"}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	const l = "hnc.x-k8s.io/included-namespace"
	tests := []struct {
		name    string
		cfg     forest.Config
		ns      string
		in      map[string]string
		want    map[string]string
		changed bool
	}{
		{"included gets label", cfg, "payments", nil, map[string]string{l: "true"}, true},
		{"keeps other labels", cfg, "payments", map[string]string{"a": "b"}, map[string]string{"a": "b", l: "true"}, true},
		{"already labelled", cfg, "payments", map[string]string{l: "true"}, map[string]string{l: "true"}, false},
		{"wrong value fixed", cfg, "payments", map[string]string{l: "false"}, map[string]string{l: "true"}, true},
		{"excluded stays bare", cfg, "kube-system", nil, nil, false},
		{"excluded label removed", cfg, "canopy-system", map[string]string{l: "true", "x": "y"}, map[string]string{"x": "y"}, true},
		{"regex includes", onlyTeams, "team-a", nil, map[string]string{l: "true"}, true},
		{"regex is anchored", onlyTeams, "my-team-a", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := IncludedLabels(tc.cfg, tc.ns, tc.in)
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreationLabels(t *testing.T) {
	cfg := forest.DefaultConfig("canopy-system")
	const l = "hnc.x-k8s.io/included-namespace"
	self := "payments.tree.hnc.x-k8s.io/depth"
	tests := []struct {
		name    string
		ns      string
		in      map[string]string
		want    map[string]string
		changed bool
	}{
		{"included gets both", "payments", nil, map[string]string{l: "true", self: "0"}, true},
		{"keeps other labels", "payments", map[string]string{"a": "b"}, map[string]string{"a": "b", l: "true", self: "0"}, true},
		{"already labelled", "payments", map[string]string{l: "true", self: "0"}, map[string]string{l: "true", self: "0"}, false},
		{"own depth only missing", "payments", map[string]string{l: "true"}, map[string]string{l: "true", self: "0"}, true},
		{"a wrong own depth is set right", "payments", map[string]string{l: "true", self: "2"}, map[string]string{l: "true", self: "0"}, true},
		{"excluded stays bare", "kube-system", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := maps.Clone(tc.in)
			got, changed := CreationLabels(cfg, tc.ns, tc.in)
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if !maps.Equal(in, tc.in) {
				t.Errorf("the input labels were modified: %v", tc.in)
			}
		})
	}
}
