package propagation

import (
	"context"
	"fmt"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// A source RoleBinding replaced while no manager ran (a RoleBinding's
// roleRef is immutable, so a new roleRef means delete and create) has its
// copies replaced too: they cannot be updated. HNC's e2e spec for issue
// #798 does the same with HNC's Deployment deleted.
func TestCopyOfReplacedRoleBindingIsReplaced(t *testing.T) {
	tree(t, [][2]string{{"rr-root", ""}, {"rr-child", "rr-root"}})
	rb := func(clusterRole string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "rr-root", Name: "test"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: "default"}},
		}
	}
	roleRef := func(want string) func(client.Object) error {
		return func(o client.Object) error {
			if got := o.(*rbacv1.RoleBinding).RoleRef.Name; got != want {
				return fmt.Errorf("copy's roleRef = %q, want %q", got, want)
			}
			return nil
		}
	}
	create(t, rb("admin"))
	waitCopy(t, &rbacv1.RoleBinding{}, "rr-child", "test", "rr-root", roleRef("admin"))

	restart := stopManager(t)
	// The API server picks up the new failure policy shortly.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		return client.IgnoreNotFound(env.Admin(t).Delete(ctx, rb("admin")))
	})
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		return env.Admin(t).Create(ctx, rb("edit"))
	})

	restart()
	waitCopy(t, &rbacv1.RoleBinding{}, "rr-child", "test", "rr-root", roleRef("edit"))
}
