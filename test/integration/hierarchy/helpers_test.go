// Package hierarchy tests the hierarchy engine on a real API server: tree
// labels, anchors, cascading deletion, cycles, move authorization, excluded
// namespaces, halted subtrees, adoption and label forgery.
//
// env.Client authenticates with the same credentials as Canopy's manager,
// so the webhooks treat it as the manager. Tests act as users through
// admin() (a different user in system:masters) or users with RoleBindings;
// they use env.Client only to set up states the webhooks would refuse.
package hierarchy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const wait = 60 * time.Second

// admin is a cluster administrator who is not Canopy's manager.
func admin(t *testing.T) client.Client {
	t.Helper()
	return env.Admin(t)
}

func createNS(t *testing.T, names ...string) {
	t.Helper()
	for _, nm := range names {
		if err := admin(t).Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nm}}); err != nil {
			t.Fatalf("creating namespace %q: %v", nm, err)
		}
	}
}

// setParent creates or updates ns's HierarchyConfiguration through c and
// returns the first error that is not a conflict with the reconciler's
// status writes.
// setParent sets ns's parent; denials are returned.
func setParent(c client.Client, ns, parent string) error {
	return framework.SetParent(context.Background(), c, ns, parent)
}

func mustSetParent(t *testing.T, ns, parent string) {
	t.Helper()
	if err := setParent(admin(t), ns, parent); err != nil {
		t.Fatalf("setting parent of %q to %q: %v", ns, parent, err)
	}
}

func update[T client.Object](t *testing.T, c client.Client, obj T, mutate func(T)) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		err := c.Update(ctx, obj)
		if err != nil && !apierrors.IsConflict(err) {
			t.Fatalf("updating %s: %v", obj.GetName(), err)
		}
		return err
	})
}

func createAnchor(t *testing.T, c client.Client, parent, name string) error {
	t.Helper()
	return c.Create(context.Background(), &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: parent, Name: name}})
}

func depth(nm string) string { return nm + api.LabelTreeDepthSuffix }

// treeLabels returns the namespace's tree labels and its in-tree label.
func treeLabels(ctx context.Context, nm string) (map[string]string, error) {
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: nm}, ns); err != nil {
		return nil, err
	}
	return treeLabelsOf(ns), nil
}

// treeLabelsOf is treeLabels on an object in hand.
func treeLabelsOf(ns *corev1.Namespace) map[string]string {
	out := map[string]string{}
	for k, v := range ns.Labels {
		if strings.HasSuffix(k, api.LabelTreeDepthSuffix) || k == "canopy.dev/in-tree" {
			out[k] = v
		}
	}
	return out
}

func waitTreeLabels(t *testing.T, nm string, want map[string]string) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		got, err := treeLabels(ctx, nm)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("tree labels of %q = %v, want %v", nm, got, want)
		}
		return nil
	})
}

func getHC(ctx context.Context, nm string) (*api.HierarchyConfiguration, error) {
	hc := &api.HierarchyConfiguration{}
	return hc, env.Client.Get(ctx, client.ObjectKey{Namespace: nm, Name: api.Singleton}, hc)
}

// parentIs returns an error unless nm's HierarchyConfiguration names parent.
func parentIs(ctx context.Context, nm, parent string) error {
	hc, err := getHC(ctx, nm)
	if err != nil {
		return err
	}
	if hc.Spec.Parent != parent {
		return fmt.Errorf("%s parent = %q, want %q", nm, hc.Spec.Parent, parent)
	}
	return nil
}

// waitCondition waits until nm's HierarchyConfiguration has a condition of
// that type and reason (present true) or none with that reason (false).
func waitCondition(t *testing.T, nm, typ, reason string, present bool) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		hc, err := getHC(ctx, nm)
		if err != nil {
			return err
		}
		found := false
		for _, c := range hc.Status.Conditions {
			if c.Type == typ && c.Reason == reason && c.Status == metav1.ConditionTrue {
				found = true
			}
		}
		if found != present {
			return fmt.Errorf("%q: condition %s/%s present=%v, want %v; conditions: %+v", nm, typ, reason, found, present, hc.Status.Conditions)
		}
		return nil
	})
}

func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("%s still present (err=%v)", obj.GetName(), err)
	})
}

func waitAnchorState(t *testing.T, parent, name string, want api.SubnamespaceAnchorState) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		a := &api.SubnamespaceAnchor{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: parent, Name: name}, a); err != nil {
			return err
		}
		if a.Status.State != want {
			return fmt.Errorf("anchor %s/%s state %q, want %q", parent, name, a.Status.State, want)
		}
		return nil
	})
}

// wantDenied fails unless err is an admission denial containing substr.
func wantDenied(t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("request allowed, want a denial containing %q", substr)
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %v, want a denial containing %q", err, substr)
	}
}

// grantHCUpdate lets user update HierarchyConfigurations in ns. Roles and
// RoleBindings propagate, so the grant reaches ns's descendants too; names
// are unique per namespace so copies never collide.
func grantHCUpdate(t *testing.T, user, ns string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hc-editor-" + user + "-" + ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{api.MetaGroup}, Resources: []string{api.HierarchyConfigurations}, Verbs: []string{"get", "list", "watch", "create", "update"}}},
	}
	if err := admin(t).Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hc-editor-" + user + "-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	}
	if err := admin(t).Create(ctx, rb); err != nil {
		t.Fatal(err)
	}
}

func clientKey(name string) client.ObjectKey { return client.ObjectKey{Name: name} }
