package forest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsExcluded(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ns   string
		want bool
	}{
		{name: "default system namespace", ns: "kube-system", want: true},
		{name: "kube-node-lease", ns: "kube-node-lease", want: true},
		{name: "manager namespace", opts: Options{ManagerNamespace: "canopy-system"}, ns: "canopy-system", want: true},
		{name: "extra excluded", opts: Options{ExcludedNamespaces: []string{"legacy"}}, ns: "legacy", want: true},
		{name: "ordinary", ns: "team-a"},
		{name: "empty name is managed", ns: ""},
		{name: "include regex matches whole name", opts: Options{IncludedNamespacesRegex: "team-.*"}, ns: "team-a"},
		{name: "include regex rejects", opts: Options{IncludedNamespacesRegex: "team-.*"}, ns: "my-team-a", want: true},
		{name: "alternation is anchored as a whole", opts: Options{IncludedNamespacesRegex: "a|b"}, ns: "ab", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.opts.Compile()
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.IsExcluded(tc.ns); got != tc.want {
				t.Errorf("IsExcluded(%q) = %v (%q), want %v", tc.ns, got, cfg.WhyExcluded(tc.ns), tc.want)
			}
		})
	}
	if diff := cmp.Diff([]string{"canopy-system", "kube-node-lease", "kube-public", "kube-system"}, DefaultConfig("canopy-system").ExcludedNames()); diff != "" {
		t.Errorf("ExcludedNames() (-want +got):\n%s", diff)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string // substring; "" means success
	}{
		{name: "ok", opts: Options{ManagedLabels: []string{`.*\.example\.com/.*`}}},
		{name: "bad include regex", opts: Options{IncludedNamespacesRegex: "("}, wantErr: "--included-namespace-regex"},
		{name: "bad label regex", opts: Options{ManagedLabels: []string{"["}}, wantErr: "--managed-namespace-label"},
		{name: "label regex matching hnc", opts: Options{ManagedLabels: []string{".*"}}, wantErr: "must not match"},
		{name: "annotation regex matching hnc", opts: Options{ManagedAnnotations: []string{"hnc.*"}}, wantErr: "--managed-namespace-annotation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.opts.Compile()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Compile() = %v, want success", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Compile() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestManagedKeys(t *testing.T) {
	cfg, err := Options{ManagedLabels: []string{`team\.example\.com/.*`}, ManagedAnnotations: []string{`note`}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		labels  bool
		kvps    []string
		wantErr []string // substrings, one per problem
	}{
		{name: "valid label", labels: true, kvps: []string{"team.example.com/name", "red"}},
		{name: "label not allowed", labels: true, kvps: []string{"env", "prod"}, wantErr: []string{`label key "env" is not allowed`}},
		{name: "suffix does not count", labels: true, kvps: []string{"x.team.example.com/name", "v"}, wantErr: []string{"not allowed"}},
		{name: "bad label value", labels: true, kvps: []string{"team.example.com/name", "has space"}, wantErr: []string{"invalid managed label"}},
		{name: "duplicate key", labels: true, kvps: []string{"team.example.com/a", "1", "team.example.com/a", "2"}, wantErr: []string{"more than once"}},
		{name: "two problems", labels: true, kvps: []string{"env", "x", "team.example.com/a", "bad value!"}, wantErr: []string{"not allowed", "invalid managed label"}},
		{name: "annotation value is free-form", kvps: []string{"note", "any value at all!"}},
		{name: "annotation not allowed", kvps: []string{"other", "v"}, wantErr: []string{`annotation key "other" is not allowed`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.labels {
				err = cfg.ValidateManagedLabels(kvps(tc.kvps...))
			} else {
				err = cfg.ValidateManagedAnnotations(kvps(tc.kvps...))
			}
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
	if !cfg.IsManagedLabel("team.example.com/x") || cfg.IsManagedLabel("team.example.com") || !cfg.IsManagedAnnotation("note") || cfg.IsManagedAnnotation("notes") {
		t.Errorf("IsManagedLabel/IsManagedAnnotation do not anchor their regexes")
	}
}
