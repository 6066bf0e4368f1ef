package tenant

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// TestTenantValidation has the platform team submit invalid Tenants; each
// is denied naming the field.
func TestTenantValidation(t *testing.T) {
	ctx := context.Background()
	createTenant(t, &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "tv-owner"}, Spec: tenancyv1.TenantSpec{
		Namespaces: []tenancyv1.TenantNamespace{{Name: "tv-owned"}},
	}})
	waitNamespaceLabel(t, "tv-owned", tenancyv1.LabelTenant, "tv-owner")
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tv-plain"}}); err != nil {
		t.Fatal(err)
	}
	base := func(mutate func(*tenancyv1.Tenant)) *tenancyv1.Tenant {
		tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "tv"}, Spec: tenancyv1.TenantSpec{
			Namespaces: []tenancyv1.TenantNamespace{{Name: "tv-a"}, {Name: "tv-b", Parent: "tv-a"}, {Name: "tv-c"}},
		}}
		mutate(tn)
		return tn
	}
	tests := []struct {
		name  string
		tn    *tenancyv1.Tenant
		wants []string
	}{
		{"duplicate namespace", base(func(tn *tenancyv1.Tenant) { tn.Spec.Namespaces[2].Name = "tv-a" }),
			[]string{"spec.namespaces[2]", "Duplicate value"}},
		{"parent not listed", base(func(tn *tenancyv1.Tenant) { tn.Spec.Namespaces[2].Parent = "tv-z" }),
			[]string{"spec.namespaces[2].parent", "must be \"tv\" (the root) or a namespace listed"}},
		{"cycle", base(func(tn *tenancyv1.Tenant) { tn.Spec.Namespaces[0].Parent = "tv-b" }),
			[]string{"spec.namespaces[0].parent", "forms a cycle"}},
		{"namespace of another tenant", base(func(tn *tenancyv1.Tenant) { tn.Spec.Namespaces[2].Name = "tv-owned" }),
			[]string{"spec.namespaces[2].name", "already belongs to tenant \"tv-owner\""}},
		{"existing namespace outside the tree", base(func(tn *tenancyv1.Tenant) { tn.Spec.Namespaces[2].Name = "tv-plain" }),
			[]string{"spec.namespaces[2].name", "already exists and is not in any tree"}},
		{"cluster role outside the allow-list", base(func(tn *tenancyv1.Tenant) {
			tn.Spec.RoleBindings = []tenancyv1.TenantRoleBinding{{ClusterRole: "cluster-admin", Subjects: []rbacv1.Subject{group("x")}}}
		}), []string{"spec.roleBindings[0].clusterRole", "Unsupported value: \"cluster-admin\""}},
		{"negative quantity", base(func(tn *tenancyv1.Tenant) {
			tn.Spec.Quota = &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("-5")}}
		}), []string{"spec.quota.hard[pods]", "must not be negative"}},
		{"team outside the tree", base(func(tn *tenancyv1.Tenant) {
			tn.Spec.Teams = []tenancyv1.Team{{Name: "t", Namespace: "tv-plain"}}
		}), []string{"spec.teams[0].namespace", "is not in tenant \"tv\"'s tree"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expectDenied(t, tc.name, admin(t).Create(ctx, tc.tn), tc.wants...)
		})
	}
	// A malformed quantity never reaches the webhook: the schema refuses it.
	u := map[string]any{"apiVersion": "tenancy.canopy.dev/v1alpha1", "kind": "Tenant", "metadata": map[string]any{"name": "tv-q"},
		"spec": map[string]any{"quota": map[string]any{"hard": map[string]any{"pods": "lots"}}}}
	expectDenied(t, "malformed quantity", admin(t).Create(ctx, unstructuredObj(u)), "spec.quota.hard.pods")
	// The samples are valid.
	for _, tn := range samples(t) {
		if err := admin(t).Create(ctx, tn, client.DryRunAll); err != nil {
			t.Errorf("sample tenant %q denied: %v", tn.Name, err)
		}
	}
}

// TestTeamLeadCannotEscalate proves a team lead stays inside the tenant.
func TestTeamLeadCannotEscalate(t *testing.T) {
	ctx := context.Background()
	no := false
	createTenant(t, &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "esc"}, Spec: tenancyv1.TenantSpec{
		Owners:        []rbacv1.Subject{group("esc-leads")},
		Namespaces:    []tenancyv1.TenantNamespace{{Name: "esc-a"}},
		Quota:         &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}},
		Policies:      &tenancyv1.TenantPolicies{NetworkIsolation: true},
		Subnamespaces: &tenancyv1.SubnamespacePolicy{Max: 3},
	}})
	createTenant(t, &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: tenancyv1.TenantSpec{
		Owners:        []rbacv1.Subject{group("other-leads")},
		Subnamespaces: &tenancyv1.SubnamespacePolicy{Allowed: &no},
	}})
	waitReady(t, "esc")
	waitReady(t, "other")
	c := lead(t, "esc-lead", "esc-leads")
	waitObject(t, &rbacv1.RoleBinding{}, "esc-a", tenantctrl.OwnersBindingName, nil)
	waitObject(t, &networkingv1.NetworkPolicy{}, "esc-a", tenantctrl.NetworkPolicyName, nil)

	anchor := func(ns, name string) *hncv1.SubnamespaceAnchor {
		return &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	// Allowed: an anchor within the cap, a quota below the tenant's.
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(c.Create(ctx, anchor("esc-a", "esc-a-team")))
	})
	waitNamespaceLabel(t, "esc-a-team", tenancyv1.LabelTenant, "esc")
	below := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "esc-a", Name: "team"},
		Spec: tenancyv1.HierarchicalQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("5")}}}
	if err := c.Create(ctx, below); err != nil {
		t.Errorf("quota below the tenant's denied: %v", err)
	}

	expectDenied(t, "anchor beyond the cap", c.Create(ctx, anchor("esc", "esc-four")), "spec.subnamespaces.max is 3")
	expectDenied(t, "anchor in another tenant", c.Create(ctx, anchor("other", "other-x")), "forbidden")
	expectDenied(t, "anchor where the tenant allows none", lead(t, "other-lead", "other-leads").Create(ctx, anchor("other", "other-y")),
		"spec.subnamespaces.allowed is false")

	q := &tenancyv1.HierarchicalQuota{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "esc", Name: tenantctrl.QuotaName}, q); err != nil {
		t.Fatal(err)
	}
	q.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
	expectDenied(t, "raise the tenant quota", c.Update(ctx, q), "generated by Tenant \"esc\"")
	above := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "esc-a", Name: "big"},
		Spec: tenancyv1.HierarchicalQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("50")}}}
	// Both the tenant webhook and the quota engine's refuse it; either
	// message names the resource and the limit.
	expectDenied(t, "quota above the tenant's", c.Create(ctx, above), "50", "exceeds", "10")

	rb := &rbacv1.RoleBinding{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "esc-a", Name: tenantctrl.OwnersBindingName}, rb); err != nil {
		t.Fatal(err)
	}
	rb.Subjects = append(rb.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: "User", Name: "mallory"})
	expectDenied(t, "edit the inherited RoleBinding", c.Update(ctx, rb))
	expectDenied(t, "delete the generated NetworkPolicy", c.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "esc-a", Name: tenantctrl.NetworkPolicyName}}),
		"generated by Tenant \"esc\"")

	// Moves target a namespace outside the tenant that the lead
	// administers too, so the hierarchy engine's own checks (permission on
	// the new parent, objects a move would overwrite) pass and the denial
	// is the tenant's.
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "esc-outside"}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: "esc-outside", Name: "esc-leads-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects:   []rbacv1.Subject{group("esc-leads")},
	}); err != nil {
		t.Fatal(err)
	}
	hc := &hncv1.HierarchyConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "esc", Name: hncv1.Singleton}, hc); err != nil {
		t.Fatal(err)
	}
	hc.Spec.Parent = "esc-outside"
	expectDenied(t, "move the tenant's root", c.Update(ctx, hc), "is the root of tenant \"esc\"")

	// A full namespace the platform team put into the tree cannot be
	// moved out of it by the lead, neither under another namespace nor to
	// be a root; the lead may still administer it.
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "esc-full"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, func(ctx context.Context) error {
		hc := &hncv1.HierarchyConfiguration{}
		err := admin(t).Get(ctx, client.ObjectKey{Namespace: "esc-full", Name: hncv1.Singleton}, hc)
		if apierrors.IsNotFound(err) {
			hc = &hncv1.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "esc-full", Name: hncv1.Singleton}}
			hc.Spec.Parent = "esc"
			return admin(t).Create(ctx, hc)
		}
		if err != nil {
			return err
		}
		hc.Spec.Parent = "esc"
		return admin(t).Update(ctx, hc)
	})
	waitNamespaceLabel(t, "esc-full", tenancyv1.LabelTenant, "esc")
	full := &hncv1.HierarchyConfiguration{}
	eventually(t, wait, func(ctx context.Context) error {
		return c.Get(ctx, client.ObjectKey{Namespace: "esc-full", Name: hncv1.Singleton}, full)
	})
	for _, parent := range []string{"esc-outside", ""} {
		moved := full.DeepCopy()
		moved.Spec.Parent = parent
		expectDenied(t, "move a namespace out of the tree to "+parent, c.Update(ctx, moved),
			"belongs to tenant \"esc\" and cannot be moved under \""+parent+"\", outside the tenant's tree")
	}

	// Owners delete anchors as well as create them.
	if err := c.Delete(ctx, anchor("esc-a", "esc-a-team")); err != nil {
		t.Errorf("the lead could not delete the team's anchor: %v", err)
	}
	waitGone(t, &corev1.Namespace{}, "", "esc-a-team")
}
