package propagation

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// fullSource returns a Secret as the API server would return it, with all
// the server-set metadata propagation must drop.
func fullSource() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"type":       "Opaque",
		"data":       map[string]any{"k": "dg=="},
		"status":     map[string]any{"phase": "whatever"},
		"metadata": map[string]any{
			"name":              "creds",
			"namespace":         "parent",
			"resourceVersion":   "42",
			"uid":               "1234",
			"generation":        int64(3),
			"selfLink":          "/api/v1/namespaces/parent/secrets/creds",
			"creationTimestamp": "2024-01-01T00:00:00Z",
			"finalizers":        []any{"example.com/f"},
			"ownerReferences":   []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "9"}},
			"managedFields":     []any{map[string]any{"manager": "kubectl"}},
			"labels": map[string]any{
				"app":                             "web",
				"drop-me":                         "x",
				"team" + api.LabelTreeDepthSuffix: "0",
			},
			"annotations": map[string]any{
				"note":                     "keep",
				ArgoCDTrackingID:           "app:/Secret:parent/creds",
				"secret-annotation":        "drop",
				api.AnnotationTreeSelector: "child",
			},
		},
	}}
	return u
}

func TestMakeCopy(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UnpropagatedLabels = []string{"drop-me"}
	cfg.UnpropagatedAnnotations = append(cfg.UnpropagatedAnnotations, "secret-annotation")
	src := fullSource()
	before := src.DeepCopy()

	got := MakeCopy(src, "child", cfg)
	want := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"type":       "Opaque",
		"data":       map[string]any{"k": "dg=="},
		"metadata": map[string]any{
			"name":      "creds",
			"namespace": "child",
			"labels": map[string]any{
				"app":                  "web",
				api.LabelInheritedFrom: "parent",
				api.LabelManagedByApps: "hnc.x-k8s.io",
			},
			"annotations": map[string]any{"note": "keep"},
		},
	}}
	if diff := cmp.Diff(want.Object, got.Object); diff != "" {
		t.Errorf("MakeCopy() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before.Object, src.Object); diff != "" {
		t.Errorf("MakeCopy() modified its source (-before +after):\n%s", diff)
	}
	// The copy shares nothing with the source.
	got.Object["data"].(map[string]any)["k"] = "changed"
	if src.Object["data"].(map[string]any)["k"] != "dg==" {
		t.Errorf("the copy shares its data map with the source")
	}
}

func TestMakeCopyWithoutMetadata(t *testing.T) {
	src := object(cmGVK, "p", "cm", nil)
	got := MakeCopy(src, "c", Config{})
	if got.GetAnnotations() != nil {
		t.Errorf("annotations = %v, want none", got.GetAnnotations())
	}
	want := map[string]string{api.LabelInheritedFrom: "p", api.LabelManagedByApps: api.MetaGroup}
	if diff := cmp.Diff(want, got.GetLabels()); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestEquivalent(t *testing.T) {
	cfg := DefaultConfig()
	base := MakeCopy(fullSource(), "child", cfg)
	// As read back from the API server: server-set metadata and status added.
	existing := func(edit func(u *unstructured.Unstructured)) *unstructured.Unstructured {
		u := base.DeepCopy()
		u.SetResourceVersion("77")
		u.SetUID("abcd")
		u.SetCreationTimestamp(metav1.Now())
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "canopy"}})
		u.Object["status"] = map[string]any{"observed": true}
		if edit != nil {
			edit(u)
		}
		return u
	}
	tests := []struct {
		name     string
		existing *unstructured.Unstructured
		want     bool
	}{
		{name: "same apart from server fields", existing: existing(nil), want: true},
		{name: "missing", existing: nil},
		{name: "data differs", existing: existing(func(u *unstructured.Unstructured) { u.Object["data"] = map[string]any{"k": "other"} })},
		{name: "extra top-level field", existing: existing(func(u *unstructured.Unstructured) { u.Object["immutable"] = true })},
		{name: "label differs", existing: existing(func(u *unstructured.Unstructured) {
			l := u.GetLabels()
			l[api.LabelInheritedFrom] = "grandparent"
			u.SetLabels(l)
		})},
		{name: "extra annotation", existing: existing(func(u *unstructured.Unstructured) {
			a := u.GetAnnotations()
			a["added"] = "by hand"
			u.SetAnnotations(a)
		})},
		{name: "different kind", existing: existing(func(u *unstructured.Unstructured) { u.SetKind("ConfigMap") })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Equivalent(base, tc.existing); got != tc.want {
				t.Errorf("Equivalent() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckConflict(t *testing.T) {
	src := object(roleGVK, "parent", "r", nil)
	own := object(roleGVK, "child", "r", nil)
	copyOf := object(roleGVK, "child", "r", nil)
	copyOf.SetLabels(map[string]string{api.LabelInheritedFrom: "parent"})
	tests := []struct {
		name     string
		existing *unstructured.Unstructured
		want     error
	}{
		{name: "nothing there"},
		{name: "own object", existing: own, want: &ConflictError{GroupKind: roleGVK.GroupKind(), Name: "r", Namespace: "child", SourceNamespace: "parent"}},
		{name: "already a copy", existing: copyOf},
		{name: "other name", existing: object(roleGVK, "child", "other", nil)},
		{name: "other kind", existing: object(cmGVK, "child", "r", nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckConflict(src, tc.existing)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b error) bool {
				return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error())
			})); diff != "" {
				t.Errorf("CheckConflict() (-want +got):\n%s", diff)
			}
		})
	}
	if got := CheckConflict(src, own).Error(); got != `Role.rbac.authorization.k8s.io "r" in namespace "child" conflicts with the source in ancestor "parent" and will be overwritten` {
		t.Errorf("ConflictError message = %q", got)
	}
}
