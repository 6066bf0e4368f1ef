package propagation

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestImmutable(t *testing.T) {
	gk := schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}
	roleRef := apierrors.NewInvalid(gk, "test", field.ErrorList{
		field.Invalid(field.NewPath("roleRef"), "edit", apimachineryvalidation.FieldImmutableErrorMsg)})
	other := apierrors.NewInvalid(gk, "test", field.ErrorList{field.Required(field.NewPath("subjects"), "")})
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"roleRef changed", roleRef, true},
		{"wrapped", fmt.Errorf("update: %w", roleRef), true},
		{"immutable Secret", apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "s", field.ErrorList{
			field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set")}), true},
		{"other invalid", other, false},
		{"conflict", apierrors.NewConflict(schema.GroupResource{Resource: "rolebindings"}, "test", errors.New("x")), false},
		{"nil", nil, false},
	} {
		if got := immutable(tc.err); got != tc.want {
			t.Errorf("%s: immutable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
