package hierarchy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

var (
	roleGVK   = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}
	secretGVK = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
)

func obj(gvk schema.GroupVersionKind, ns, name string, annotations map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetAnnotations(annotations)
	return u
}

func TestMoveConflicts(t *testing.T) {
	kinds := []PropagatedKind{{GVK: roleGVK, Mode: api.Propagate}, {GVK: secretGVK, Mode: api.AllowPropagate}}
	// The forest of newForest: a <- b <- c, a <- d, x <- y, s sub of a, lone.
	setup := func(t *testing.T, objs ...*unstructured.Unstructured) *forest.Forest {
		f := newForest(t)
		f.Lock()
		defer f.Unlock()
		for _, o := range objs {
			f.Get(o.GetNamespace()).SetSourceObject(o)
		}
		return f
	}
	type conflict struct{ Kind, Name, Namespace, Source string }
	tests := []struct {
		name   string
		objs   []*unstructured.Unstructured
		nm, to string
		kinds  []PropagatedKind
		want   []conflict
	}{
		{name: "root's role would overwrite the moved namespace's own", nm: "y", to: "b",
			objs: []*unstructured.Unstructured{obj(roleGVK, "a", "r", nil), obj(roleGVK, "y", "r", nil)},
			want: []conflict{{"Role", "r", "y", "a"}}},
		{name: "the new parent's role would overwrite a descendant of the moved namespace", nm: "x", to: "c",
			objs: []*unstructured.Unstructured{obj(roleGVK, "c", "r", nil), obj(roleGVK, "y", "r", nil)},
			want: []conflict{{"Role", "r", "y", "c"}}},
		{name: "moved namespace's own source shadowed by the new ancestor counts once, its copies below do not", nm: "x", to: "a",
			objs: []*unstructured.Unstructured{obj(roleGVK, "a", "r", nil), obj(roleGVK, "x", "r", nil)},
			want: []conflict{{"Role", "r", "x", "a"}}},
		{name: "different names do not conflict", nm: "y", to: "b",
			objs: []*unstructured.Unstructured{obj(roleGVK, "a", "r", nil), obj(roleGVK, "y", "other", nil)}},
		{name: "a source inside the subtree already reaches it", nm: "x", to: "lone",
			objs: []*unstructured.Unstructured{obj(roleGVK, "x", "r", nil), obj(roleGVK, "y", "r", nil)}},
		{name: "unpropagated kinds do not conflict", nm: "y", to: "b", kinds: []PropagatedKind{{GVK: roleGVK, Mode: api.Ignore}},
			objs: []*unstructured.Unstructured{obj(roleGVK, "a", "r", nil), obj(roleGVK, "y", "r", nil)}},
		{name: "AllowPropagate without an exception does not propagate", nm: "y", to: "b",
			objs: []*unstructured.Unstructured{obj(secretGVK, "a", "s", nil), obj(secretGVK, "y", "s", nil)}},
		{name: "AllowPropagate with all", nm: "y", to: "b",
			objs: []*unstructured.Unstructured{obj(secretGVK, "a", "s", map[string]string{api.AnnotationAllSelector: "true"}), obj(secretGVK, "y", "s", nil)},
			want: []conflict{{"Secret", "s", "y", "a"}}},
		{name: "a tree selector sees the ancestry after the move", nm: "y", to: "b",
			objs: []*unstructured.Unstructured{
				obj(roleGVK, "a", "r", map[string]string{api.AnnotationTreeSelector: "x"}),
				obj(roleGVK, "a", "q", map[string]string{api.AnnotationTreeSelector: "b"}),
				obj(roleGVK, "y", "r", nil), obj(roleGVK, "y", "q", nil)},
			want: []conflict{{"Role", "q", "y", "a"}}},
		{name: "becoming a root overwrites nothing", nm: "c", to: "",
			objs: []*unstructured.Unstructured{obj(roleGVK, "a", "r", nil), obj(roleGVK, "c", "r", nil)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, tc.objs...)
			k := kinds
			if tc.kinds != nil {
				k = tc.kinds
			}
			f.Lock()
			got := MoveConflicts(f, tc.nm, tc.to, k, policy.DefaultConfig())
			f.Unlock()
			var gotC []conflict
			for _, c := range got {
				gotC = append(gotC, conflict{c.GroupKind.Kind, c.Name, c.Namespace, c.SourceNamespace})
			}
			if diff := cmp.Diff(tc.want, gotC); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOverwriteMessage(t *testing.T) {
	got := overwriteMessage("y", "b", []*policy.ConflictError{{GroupKind: roleGVK.GroupKind(), Name: "r", Namespace: "y", SourceNamespace: "a"}})
	want := `moving namespace "y" under "b" would overwrite objects in its subtree with propagated copies: Role "r" in namespace "y" (by the one in "a"); rename or delete them first`
	if got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
}
