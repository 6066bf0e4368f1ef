package propagation

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestRolesAndBindingsPropagateThreeLevels(t *testing.T) {
	ctx := context.Background()
	tree(t, [][2]string{{"rb-a", ""}, {"rb-b", "rb-a"}, {"rb-c", "rb-b"}, {"rb-d", "rb-c"}})
	create(t, role("rb-a", "reader", nil, "get"))
	create(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "rb-a", Name: "readers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}},
	})
	for _, ns := range []string{"rb-b", "rb-c", "rb-d"} {
		waitCopy(t, &rbacv1.Role{}, ns, "reader", "rb-a", nil)
		waitCopy(t, &rbacv1.RoleBinding{}, ns, "readers", "rb-a", nil)
	}

	// A change to the source reaches every copy.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		r := &rbacv1.Role{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "rb-a", Name: "reader"}, r); err != nil {
			return err
		}
		r.Rules[0].Verbs = []string{"get", "list"}
		return env.Client.Update(ctx, r)
	}); err != nil {
		t.Fatal(err)
	}
	waitCopy(t, &rbacv1.Role{}, "rb-d", "reader", "rb-a", func(o client.Object) error {
		if v := o.(*rbacv1.Role).Rules[0].Verbs; strings.Join(v, ",") != "get,list" {
			return fmt.Errorf("verbs = %v, want get,list", v)
		}
		return nil
	})

	// Deleting the source deletes every copy.
	if err := env.Client.Delete(ctx, role("rb-a", "reader", nil)); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"rb-b", "rb-c", "rb-d"} {
		waitGone(t, &rbacv1.Role{}, ns, "reader")
	}
	// The binding stays.
	waitCopy(t, &rbacv1.RoleBinding{}, "rb-d", "readers", "rb-a", nil)
}

func TestExceptions(t *testing.T) {
	tree(t, [][2]string{{"ex-root", ""}, {"ex-a", "ex-root"}, {"ex-b", "ex-root"}, {"ex-a1", "ex-a"}})
	create(t, role("ex-root", "selected", map[string]string{api.AnnotationSelector: "ex-a" + api.LabelTreeDepthSuffix}, "get"))
	create(t, role("ex-root", "tree-selected", map[string]string{api.AnnotationTreeSelector: "!ex-a"}, "get"))
	create(t, role("ex-root", "none", map[string]string{api.AnnotationNoneSelector: "true"}, "get"))
	create(t, role("ex-root", "plain", nil, "get"))

	waitCopy(t, &rbacv1.Role{}, "ex-a", "selected", "ex-root", nil)
	waitCopy(t, &rbacv1.Role{}, "ex-a1", "selected", "ex-root", nil)
	waitCopy(t, &rbacv1.Role{}, "ex-b", "tree-selected", "ex-root", nil)
	// Sync point: the plain role reached every namespace, so the items
	// for the other names have been processed too.
	for _, ns := range []string{"ex-a", "ex-b", "ex-a1"} {
		waitCopy(t, &rbacv1.Role{}, ns, "plain", "ex-root", nil)
		assertAbsent(t, &rbacv1.Role{}, ns, "none")
	}
	assertAbsent(t, &rbacv1.Role{}, "ex-b", "selected")
	assertAbsent(t, &rbacv1.Role{}, "ex-a", "tree-selected")
	assertAbsent(t, &rbacv1.Role{}, "ex-a1", "tree-selected")
}

func TestInvalidExceptionDenied(t *testing.T) {
	tree(t, [][2]string{{"inv-root", ""}, {"inv-child", "inv-root"}})
	// The same annotations are accepted outside Canopy's trees, where the
	// objects webhook is not called.
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "inv-outside"}})
	if err := admin(t).Create(context.Background(), role("inv-outside", "bad", map[string]string{api.AnnotationSelector: "a in (b"}, "get")); err != nil {
		t.Errorf("outside a tree: %v", err)
	}
	for _, annots := range []map[string]string{
		{api.AnnotationSelector: "a in (b"},
		{api.AnnotationTreeSelector: "a, b"},
		{api.AnnotationNoneSelector: "maybe"},
		{api.AnnotationNoneSelector: "true", api.AnnotationAllSelector: "true"},
	} {
		err := admin(t).Create(context.Background(), role("inv-root", "bad", annots, "get"))
		if err == nil || !strings.Contains(err.Error(), "propagation") {
			t.Errorf("creating a role with %v: err = %v, want a denial about the propagation exception", annots, err)
		}
	}
}
