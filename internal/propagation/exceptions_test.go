package propagation

import (
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

var (
	secretGVK = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	cmGVK     = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	roleGVK   = schema.GroupVersionKind{Group: api.RBACGroup, Version: "v1", Kind: api.RoleKind}
)

func object(gvk schema.GroupVersionKind, ns, name string, annots map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetAnnotations(annots)
	return u
}

// treeLabels builds the tree labels of a namespace from its ancestry, nearest
// first: treeLabels("c", "b", "a") is c at 0, b at 1, a at 2.
func treeLabels(names ...string) map[string]string {
	out := map[string]string{}
	for i, nm := range names {
		out[nm+api.LabelTreeDepthSuffix] = strconv.Itoa(i)
	}
	return out
}

func TestShouldPropagateTo(t *testing.T) {
	// The tree: root ── team ── dev
	//                        └─ prod
	dest := map[string]map[string]string{
		"team": treeLabels("team", "root"),
		"dev":  treeLabels("dev", "team", "root"),
		"prod": treeLabels("prod", "team", "root"),
	}
	dest["prod"]["env"] = "prod"
	dest["dev"]["env"] = "dev"

	tests := []struct {
		name   string
		annots map[string]string
		mode   api.SynchronizationMode
		want   map[string]bool // destination -> propagates; missing means false
		errHas string
	}{
		{name: "Propagate, no exception", mode: api.Propagate, want: map[string]bool{"team": true, "dev": true, "prod": true}},
		{name: "AllowPropagate, no exception", mode: api.AllowPropagate},
		{name: "Remove never", mode: api.Remove, annots: map[string]string{api.AnnotationAllSelector: "true"}},
		{name: "Ignore never", mode: api.Ignore, annots: map[string]string{api.AnnotationAllSelector: "true"}},
		{name: "all true with AllowPropagate", mode: api.AllowPropagate, annots: map[string]string{api.AnnotationAllSelector: "true"}, want: map[string]bool{"team": true, "dev": true, "prod": true}},
		{name: "all false with AllowPropagate", mode: api.AllowPropagate, annots: map[string]string{api.AnnotationAllSelector: "false"}},
		{name: "all false with Propagate", mode: api.Propagate, annots: map[string]string{api.AnnotationAllSelector: "false"}, want: map[string]bool{"team": true, "dev": true, "prod": true}},
		{name: "none true", mode: api.Propagate, annots: map[string]string{api.AnnotationNoneSelector: "true"}},
		{name: "none false", mode: api.Propagate, annots: map[string]string{api.AnnotationNoneSelector: "false"}, want: map[string]bool{"team": true, "dev": true, "prod": true}},
		{name: "empty value counts as absent", mode: api.Propagate, annots: map[string]string{api.AnnotationNoneSelector: ""}, want: map[string]bool{"team": true, "dev": true, "prod": true}},
		{name: "select on a label", mode: api.Propagate, annots: map[string]string{api.AnnotationSelector: "env=prod"}, want: map[string]bool{"prod": true}},
		{name: "select set-based", mode: api.Propagate, annots: map[string]string{api.AnnotationSelector: "env in (dev,prod)"}, want: map[string]bool{"dev": true, "prod": true}},
		{name: "select works with AllowPropagate", mode: api.AllowPropagate, annots: map[string]string{api.AnnotationSelector: "env!=prod"}, want: map[string]bool{"team": true, "dev": true}},
		{name: "select on a tree label", mode: api.Propagate, annots: map[string]string{api.AnnotationSelector: "dev" + api.LabelTreeDepthSuffix}, want: map[string]bool{"dev": true}},
		{name: "treeSelect one subtree", mode: api.Propagate, annots: map[string]string{api.AnnotationTreeSelector: "team"}, want: map[string]bool{"team": true, "dev": true, "prod": true}},
		{name: "treeSelect leaf", mode: api.Propagate, annots: map[string]string{api.AnnotationTreeSelector: "prod"}, want: map[string]bool{"prod": true}},
		{name: "treeSelect negations", mode: api.Propagate, annots: map[string]string{api.AnnotationTreeSelector: "!dev, !prod"}, want: map[string]bool{"team": true}},
		{name: "treeSelect mixed", mode: api.AllowPropagate, annots: map[string]string{api.AnnotationTreeSelector: "team,!dev"}, want: map[string]bool{"team": true, "prod": true}},
		{name: "invalid select", mode: api.Propagate, annots: map[string]string{api.AnnotationSelector: "env in (dev"}, errHas: api.AnnotationSelector},
		{name: "invalid treeSelect name", mode: api.Propagate, annots: map[string]string{api.AnnotationTreeSelector: "Team_A"}, errHas: `"Team_A" is not a valid namespace name`},
		{name: "treeSelect empty segment", mode: api.Propagate, annots: map[string]string{api.AnnotationTreeSelector: "dev,,prod"}, errHas: api.AnnotationTreeSelector},
		{name: "treeSelect lone bang", mode: api.Propagate, annots: map[string]string{api.AnnotationTreeSelector: "!"}, errHas: api.AnnotationTreeSelector},
		{name: "treeSelect two positives", mode: api.Propagate, annots: map[string]string{api.AnnotationTreeSelector: "dev, prod"}, errHas: "at most one namespace"},
		{name: "invalid none", mode: api.Propagate, annots: map[string]string{api.AnnotationNoneSelector: "yes please"}, errHas: api.AnnotationNoneSelector},
		{name: "invalid all", mode: api.AllowPropagate, annots: map[string]string{api.AnnotationAllSelector: "sure"}, errHas: api.AnnotationAllSelector},
		{name: "two exceptions", mode: api.Propagate, annots: map[string]string{api.AnnotationAllSelector: "true", api.AnnotationNoneSelector: "true"}, errHas: "only one propagation exception"},
		{name: "unknown exception key", mode: api.Propagate, annots: map[string]string{api.AnnotationPropagatePrefix + "/everywhere": "true"}, errHas: "unknown propagation annotation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := object(roleGVK, "root", "r", tc.annots)
			for _, nm := range []string{"team", "dev", "prod"} {
				got, err := ShouldPropagateTo(src, tc.mode, nm, dest[nm])
				if tc.errHas != "" {
					if err == nil || !strings.Contains(err.Error(), tc.errHas) {
						t.Fatalf("ShouldPropagateTo(%s) error = %v, want one containing %q", nm, err, tc.errHas)
					}
					if got {
						t.Errorf("ShouldPropagateTo(%s) = true with an error", nm)
					}
					continue
				}
				if err != nil {
					t.Fatalf("ShouldPropagateTo(%s) error = %v", nm, err)
				}
				if got != tc.want[nm] {
					t.Errorf("ShouldPropagateTo(%s) = %v, want %v", nm, got, tc.want[nm])
				}
			}
		})
	}
}

func TestShouldPropagateToAddsOwnTreeLabel(t *testing.T) {
	// Labels recorded before the namespace was reconciled lack its own tree
	// label; treeSelect naming it must still match.
	src := object(roleGVK, "root", "r", map[string]string{api.AnnotationTreeSelector: "fresh"})
	got, err := ShouldPropagateTo(src, api.Propagate, "fresh", nil)
	if err != nil || !got {
		t.Errorf("ShouldPropagateTo(fresh) = %v, %v; want true, nil", got, err)
	}
}

func TestParseException(t *testing.T) {
	tests := []struct {
		annots map[string]string
		want   string // Annotation field
	}{
		{annots: nil},
		{annots: map[string]string{"other": "x"}},
		{annots: map[string]string{api.AnnotationSelector: "a=b"}, want: api.AnnotationSelector},
		{annots: map[string]string{api.AnnotationTreeSelector: "a"}, want: api.AnnotationTreeSelector},
		{annots: map[string]string{api.AnnotationNoneSelector: "true", api.AnnotationAllSelector: ""}, want: api.AnnotationNoneSelector},
	}
	for _, tc := range tests {
		ex, err := ParseException(tc.annots)
		if err != nil {
			t.Fatalf("ParseException(%v) error = %v", tc.annots, err)
		}
		if ex.Annotation != tc.want {
			t.Errorf("ParseException(%v).Annotation = %q, want %q", tc.annots, ex.Annotation, tc.want)
		}
	}
}
