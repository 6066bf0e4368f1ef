package isolationdata

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestPropagatedBindingNeverBindsALocalRole: the platform binds a group to
// a root-only Role at a tenant's root (the Role does not propagate; the
// binding does). A lead then creates a Role of that name in a descendant,
// granting more. The binding's copy there would resolve to the lead's Role:
// it must go, and the descendant says why.
func TestPropagatedBindingNeverBindsALocalRole(t *testing.T) {
	ctx := context.Background()
	createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "rbx"},
		Spec: tenancyv1.TenantSpec{
			Owners:     []rbacv1.Subject{groupSubject("rbx-leads")},
			Namespaces: []tenancyv1.TenantNamespace{{Name: "rbx-team"}, {Name: "rbx-clean"}},
		},
	})
	waitNamespace(t, "rbx-team", "rbx", false)
	waitNamespace(t, "rbx-clean", "rbx", false)

	// The platform's Role, for the root only, and a binding for the tree.
	adm := admin(t)
	for _, obj := range []client.Object{
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: "rbx", Name: "app-reader", Annotations: map[string]string{api.AnnotationNoneSelector: "true"}},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "rbx", Name: "app-readers"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "app-reader"},
			Subjects:   []rbacv1.Subject{groupSubject("rbx-devs")},
		},
	} {
		if err := adm.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"rbx-clean", "rbx-team"} {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app-readers"}, &rbacv1.RoleBinding{})
		})
	}

	// The lead's own Role of that name, granting secrets, in a namespace
	// they run.
	alice := lead(t, "rbx-alice", "rbx-leads")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "rbx-team", Name: "db"}, StringData: map[string]string{"password": "hunter2"}}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(alice.Create(ctx, secret.DeepCopy()))
	})
	if err := alice.Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: "rbx-team", Name: "app-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"get", "list"}}},
	}); err != nil {
		t.Fatal(err)
	}

	// The binding's copy goes, and rbx-team says why.
	dev := lead(t, "rbx-dev", "rbx-devs")
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: "rbx-team", Name: "app-readers"}, &rbacv1.RoleBinding{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("the binding's copy is still in rbx-team, bound to the lead's Role (err %v)", err)
		}
		hc := &api.HierarchyConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "rbx-team", Name: api.Singleton}, hc); err != nil {
			return err
		}
		for _, c := range hc.Status.Conditions {
			if c.Type == api.ConditionBadConfiguration && c.Reason == "RoleConflict" &&
				strings.Contains(c.Message, `RoleBinding "app-readers"`) && strings.Contains(c.Message, `Role "app-reader"`) {
				return nil
			}
		}
		return fmt.Errorf("rbx-team conditions: %+v", hc.Status.Conditions)
	})
	if err := dev.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("a developer reading the lead's secret in rbx-team: %v, want Forbidden", err)
	}
	// Elsewhere the copy stays.
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "rbx-clean", Name: "app-readers"}, &rbacv1.RoleBinding{}); err != nil {
		t.Errorf("the binding's copy in rbx-clean: %v", err)
	}

	// Once the lead removes their Role, the copy returns and the
	// condition clears.
	if err := alice.Delete(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "rbx-team", Name: "app-reader"}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "rbx-team", Name: "app-readers"}, &rbacv1.RoleBinding{}); err != nil {
			return err
		}
		hc := &api.HierarchyConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "rbx-team", Name: api.Singleton}, hc); err != nil {
			return err
		}
		for _, c := range hc.Status.Conditions {
			if c.Reason == "RoleConflict" {
				return fmt.Errorf("condition still set: %+v", c)
			}
		}
		return nil
	})
	if err := dev.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}); !apierrors.IsForbidden(err) {
		t.Errorf("a developer reading secrets after the lead's Role went: %v, want Forbidden", err)
	}
}
