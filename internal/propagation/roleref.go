package propagation

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// RoleBindingKind and RoleKind are the RBAC kinds RoleRefConflict reads.
var (
	RoleBindingKind = schema.GroupKind{Group: rbacv1.GroupName, Kind: "RoleBinding"}
	RoleKind        = schema.GroupKind{Group: rbacv1.GroupName, Kind: "Role"}
)

// BindingRoleRef returns the name of the namespaced Role a RoleBinding
// refers to, or "" when it refers to a ClusterRole (or to nothing
// readable).
func BindingRoleRef(binding *unstructured.Unstructured) string {
	kind, _, _ := unstructured.NestedString(binding.Object, "roleRef", "kind")
	group, _, _ := unstructured.NestedString(binding.Object, "roleRef", "apiGroup")
	name, _, _ := unstructured.NestedString(binding.Object, "roleRef", "name")
	if kind != RoleKind.Kind || group != rbacv1.GroupName {
		return ""
	}
	return name
}

// RoleRefConflict decides whether a copy of the source RoleBinding may be
// made in a destination that holds destRole, the Role of the binding's
// roleRef name there (nil if none). A RoleBinding names its Role only by
// name, in its own namespace: a copy resolves to whatever Role of that name
// the destination holds. So the copy is allowed only when that Role is the
// propagated copy of the source namespace's own Role, or when there is no
// such Role at all (the copy then binds nothing, as the source would
// without its Role). Otherwise, the destination's own Role, or a copy from
// another ancestor, would be granted to the binding's subjects: the answer
// is a message for the destination's condition; "" means no conflict.
func RoleRefConflict(source, destRole *unstructured.Unstructured) string {
	role := BindingRoleRef(source)
	if role == "" || destRole == nil {
		return ""
	}
	from := destRole.GetLabels()[api.LabelInheritedFrom]
	if from == source.GetNamespace() {
		return ""
	}
	what := "its own Role"
	if from != "" {
		what = fmt.Sprintf("a Role propagated from %q", from)
	}
	return fmt.Sprintf("RoleBinding %q from %q is not propagated here: this namespace holds %s %q, not the copy of %q's Role %q, and the binding would grant it",
		source.GetName(), source.GetNamespace(), what, role, source.GetNamespace(), role)
}
