package propagation

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func binding(ns, name, kind, role string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
		"roleRef": map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
	}}
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func roleIn(ns, name, inheritedFrom string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role"}}
	u.SetNamespace(ns)
	u.SetName(name)
	if inheritedFrom != "" {
		u.SetLabels(map[string]string{api.LabelInheritedFrom: inheritedFrom})
	}
	return u
}

func TestRoleRefConflict(t *testing.T) {
	rb := binding("root", "readers", "Role", "reader")
	tests := []struct {
		name     string
		source   *unstructured.Unstructured
		destRole *unstructured.Unstructured
		want     string // substring; "" means no conflict
	}{
		{"no Role there", rb, nil, ""},
		{"the source's own copy", rb, roleIn("child", "reader", "root"), ""},
		{"the destination's own Role", rb, roleIn("child", "reader", ""), `holds its own Role "reader", not the copy of "root"'s Role "reader"`},
		{"a copy from another ancestor", rb, roleIn("child", "reader", "mid"), `holds a Role propagated from "mid" "reader"`},
		{"a ClusterRole binding", binding("root", "admins", "ClusterRole", "admin"), roleIn("child", "admin", ""), ""},
	}
	for _, tc := range tests {
		got := RoleRefConflict(tc.source, tc.destRole)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
