package forest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	roleGVK = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}
	cmGVK   = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
)

func obj(gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// ids turns objects into "namespace/name" for comparison.
func ids(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetNamespace()+"/"+o.GetName())
	}
	return out
}

func TestSourceObjects(t *testing.T) {
	f := build(t, "a", "b:a")
	b := f.Get("b")
	src := obj(roleGVK, "b", "r1")
	if !b.SetSourceObject(src) {
		t.Fatalf("first SetSourceObject reported no change")
	}
	if b.SetSourceObject(src) {
		t.Errorf("identical SetSourceObject reported a change")
	}
	// The forest keeps a copy: changing the caller's object changes nothing.
	src.SetLabels(map[string]string{"mutated": "yes"})
	if got := b.GetSourceObject(roleGVK, "r1").GetLabels(); got != nil {
		t.Errorf("stored object changed with the caller's: labels %v", got)
	}
	// And hands out copies.
	b.GetSourceObject(roleGVK, "r1").SetName("renamed")
	if !b.HasSourceObject(roleGVK, "r1") || b.GetSourceObject(roleGVK, "r1").GetName() != "r1" {
		t.Errorf("stored object changed through a returned copy")
	}
	b.SetSourceObject(obj(roleGVK, "b", "r0"))
	b.SetSourceObject(obj(cmGVK, "b", "cm"))
	if diff := cmp.Diff([]string{"r0", "r1"}, b.GetSourceNames(roleGVK)); diff != "" {
		t.Errorf("GetSourceNames(role) (-want +got):\n%s", diff)
	}
	if got := f.CountSources(roleGVK); got != 2 {
		t.Errorf("CountSources(role) = %d, want 2", got)
	}
	if !b.DeleteSourceObject(roleGVK, "r1") || b.DeleteSourceObject(roleGVK, "r1") {
		t.Errorf("DeleteSourceObject did not report exactly one deletion")
	}
	if b.GetSourceObject(roleGVK, "r1") != nil {
		t.Errorf("deleted object still returned")
	}
}

func TestGetPropagatedSources(t *testing.T) {
	tests := []struct {
		name    string
		specs   []string
		sources []string // "namespace/name" roles
		ns      string
		want    []string
		wantR1  []string // GetAncestorSources(role, "r1")
	}{
		{
			name:    "root first, then by name; own and sibling sources excluded",
			specs:   []string{"a", "b:a", "c:b", "s:a"},
			sources: []string{"c/own", "b/r2", "b/r1", "a/r1", "s/sib"},
			ns:      "c",
			want:    []string{"a/r1", "b/r1", "b/r2"},
			wantR1:  []string{"a/r1", "b/r1"},
		},
		{
			name:    "root inherits nothing",
			specs:   []string{"a", "b:a"},
			sources: []string{"a/r1", "b/r2"},
			ns:      "a",
		},
		{
			name:    "cycle: every other member, never itself",
			specs:   []string{"x:z", "y:x", "z:y"},
			sources: []string{"x/r1", "y/r2", "z/r3"},
			ns:      "y",
			want:    []string{"z/r3", "x/r1"},
			wantR1:  []string{"x/r1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := build(t, tc.specs...)
			for _, s := range tc.sources {
				ns, name, _ := strings.Cut(s, "/")
				f.Get(ns).SetSourceObject(obj(roleGVK, ns, name))
			}
			ns := f.Get(tc.ns)
			if diff := cmp.Diff(tc.want, ids(ns.GetPropagatedSources(roleGVK))); diff != "" {
				t.Errorf("GetPropagatedSources() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantR1, ids(ns.GetAncestorSources(roleGVK, "r1"))); diff != "" {
				t.Errorf("GetAncestorSources(r1) (-want +got):\n%s", diff)
			}
			if got := ns.GetPropagatedSources(cmGVK); got != nil {
				t.Errorf("GetPropagatedSources(configmap) = %v, want none", ids(got))
			}
		})
	}
}
