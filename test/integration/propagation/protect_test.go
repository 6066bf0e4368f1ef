package propagation

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/controller/propagation"
	"github.com/canopyhq/canopy/test/integration/framework"
)

func TestConflictDenied(t *testing.T) {
	tree(t, [][2]string{{"cf-root", ""}, {"cf-child", "cf-root"}})
	create(t, role("cf-child", "mine", nil, "get"))
	// Wait until the webhook knows the child's own role: it judges from
	// the manager's cache, which may not show it right after creation (a
	// source allowed then is still never copied over it, as TestAdoption
	// shows). A dry run is judged like the create and
	// stores nothing.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		err := admin(t).Create(ctx, role("cf-root", "mine", nil, "list"), client.DryRunAll)
		if err == nil {
			return errors.New("a dry run of the overwriting source was allowed: the webhook does not know the child's role yet")
		}
		if !strings.Contains(err.Error(), "cf-child") {
			return err
		}
		return nil
	})
	err := admin(t).Create(context.Background(), role("cf-root", "mine", nil, "list"))
	if err == nil {
		t.Fatal("a source that overwrites a descendant's own object was allowed")
	}
	if !strings.Contains(err.Error(), "cf-child") {
		t.Fatalf("the source was refused without naming the namespace of the object it would overwrite: %v", err)
	}
	// The child's object is untouched.
	r := &rbacv1.Role{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: "cf-child", Name: "mine"}, r); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Labels[api.LabelInheritedFrom]; ok || r.Rules[0].Verbs[0] != "get" {
		t.Errorf("the child's own role was changed: %+v", r)
	}
	// The denial is reported as an event on the child's object.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		return hasEvent(ctx, "cf-child", "mine", propagation.EventCannotPropagate)
	})
}

func hasEvent(ctx context.Context, ns, name, reason string) error {
	list := &corev1.EventList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		return err
	}
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Reason == reason {
			return nil
		}
	}
	return errNoEvent{ns, name, reason}
}

type errNoEvent struct{ ns, name, reason string }

func (e errNoEvent) Error() string { return "no event " + e.reason + " for " + e.ns + "/" + e.name }

func TestCopyEditsDeniedForUsers(t *testing.T) {
	ctx := context.Background()
	tree(t, [][2]string{{"cp-root", ""}, {"cp-child", "cp-root"}})
	// Bob may manage Roles in the child, through a binding that is itself
	// propagated from the root.
	create(t, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "cp-role-editor"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		},
	})
	create(t, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "cp-root", Name: "bob-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cp-role-editor"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"}},
	})
	create(t, role("cp-root", "shared", nil, "get"))
	waitCopy(t, &rbacv1.RoleBinding{}, "cp-child", "bob-admin", "cp-root", nil)
	waitCopy(t, &rbacv1.Role{}, "cp-child", "shared", "cp-root", nil)

	bob, _, err := env.UserClient("bob")
	if err != nil {
		t.Fatal(err)
	}
	r := &rbacv1.Role{}
	// The authorizer sees the propagated binding shortly after it exists.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		return bob.Get(ctx, client.ObjectKey{Namespace: "cp-child", Name: "shared"}, r)
	})
	r.Annotations = map[string]string{"edited-by": "bob"}
	err = bob.Update(ctx, r)
	if err == nil || !strings.Contains(err.Error(), `"cp-root"`) {
		t.Errorf("bob's edit of a copy: err = %v, want a denial naming the source namespace", err)
	}
	err = bob.Delete(ctx, r)
	if err == nil || !strings.Contains(err.Error(), `"cp-root"`) {
		t.Errorf("bob's deletion of a copy: err = %v, want a denial naming the source namespace", err)
	}
	// Bob can still manage his own objects there.
	own := role("cp-child", "bobs", nil, "get")
	if err := bob.Create(ctx, own); err != nil {
		t.Errorf("bob creating his own role: %v", err)
	}
}
