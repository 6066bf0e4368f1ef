package isolation

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// TestForgedSubnamespaceIsNotAdopted is issue 11, item 5: while the
// manager is down, mallory (who may create namespaces, nothing more)
// creates a namespace claiming to be a subnamespace of tenant fg's root.
// When the manager returns it reports SubnamespaceAnchorMissing, and that
// now halts: fg's RoleBindings are not propagated into it, its tree labels
// stop at it and the Tenant does not label it, while a subnamespace the
// lead makes meanwhile gets all of that. Once the platform team creates
// the matching anchor, the namespace joins the tree.
func TestForgedSubnamespaceIsNotAdopted(t *testing.T) {
	ctx := context.Background()
	tenant(t, "fg", nil, "fg-a")
	if err := env.Client.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "fg-namespace-creator"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "create"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "fg-namespace-creators"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "fg-namespace-creator"},
		Subjects: []rbacv1.Subject{group("fg-namespace-creators")}}); err != nil {
		t.Fatal(err)
	}
	mallory := lead(t, "mallory", "fg-namespace-creators")
	forged := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fg-forged", Annotations: map[string]string{hncv1.SubnamespaceOf: "fg"}}}
	// With the manager up the annotation is refused.
	expectDenied(t, "forge the annotation while Canopy runs", mallory.Create(ctx, forged.DeepCopy()), hncv1.SubnamespaceOf)

	env.StopManager()
	restarted := false
	defer func() {
		if !restarted {
			if err := env.StartManager(env.Options); err != nil {
				t.Errorf("restarting the manager: %v", err)
			}
		}
	}()
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(mallory.Create(ctx, forged.DeepCopy()))
	})
	if err := env.StartManager(env.Options); err != nil {
		t.Fatalf("restarting the manager: %v", err)
	}
	restarted = true

	eventually(t, wait, func(ctx context.Context) error {
		hc := &hncv1.HierarchyConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "fg-forged", Name: hncv1.Singleton}, hc); err != nil {
			return err
		}
		for _, c := range hc.Status.Conditions {
			if c.Reason == hncv1.ReasonAnchorMissing {
				return nil
			}
		}
		return fmt.Errorf("fg-forged conditions %+v lack %s", hc.Status.Conditions, hncv1.ReasonAnchorMissing)
	})
	// A subnamespace the lead makes now is governed in full: once it is,
	// the manager has had every chance to act on fg-forged too.
	alice := lead(t, "alice", "fg-leads")
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(alice.Create(ctx, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "fg", Name: "fg-legit"}}))
	})
	waitLabel(t, "fg-legit", tenancyv1.LabelTenant, "fg")
	waitLabel(t, "fg-legit", "fg"+hncv1.LabelTreeDepthSuffix, "1")
	waitOwnersBinding(t, "fg-legit")

	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "fg-forged"}, ns); err != nil {
		t.Fatal(err)
	}
	if v, ok := ns.Labels[tenancyv1.LabelTenant]; ok {
		t.Errorf("the forged namespace carries the tenant label %q", v)
	}
	if v, ok := ns.Labels["fg"+hncv1.LabelTreeDepthSuffix]; ok {
		t.Errorf("the forged namespace carries fg's tree label (depth %q)", v)
	}
	if names := inherited(t, "fg-forged"); len(names) > 0 {
		t.Errorf("RoleBindings propagated into the forged namespace: %v", names)
	}

	// The platform team adopts it with a matching anchor: the halt lifts.
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(admin(t).Create(ctx, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "fg", Name: "fg-forged"}}))
	})
	waitLabel(t, "fg-forged", tenancyv1.LabelTenant, "fg")
	waitOwnersBinding(t, "fg-forged")
}

// inherited returns the RoleBindings in ns propagated from an ancestor.
func inherited(t *testing.T, ns string) []string {
	t.Helper()
	l := &rbacv1.RoleBindingList{}
	if err := env.Client.List(context.Background(), l, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rb := range l.Items {
		if rb.Labels[hncv1.LabelInheritedFrom] != "" {
			out = append(out, rb.Name)
		}
	}
	slices.Sort(out)
	return out
}

// waitOwnersBinding waits until the propagated owners' binding is in ns.
func waitOwnersBinding(t *testing.T, ns string) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		if slices.Contains(inherited(t, ns), tenantctrl.OwnersBindingName) {
			return nil
		}
		return fmt.Errorf("no propagated %s in %s yet", tenantctrl.OwnersBindingName, ns)
	})
}
