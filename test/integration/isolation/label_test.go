package isolation

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// TestOnlyTheManagerWritesTheTenantLabel is issue 11, item 7: the label
// tenancy.canopy.dev/tenant admits NetworkPolicy peers and drives cost
// attribution and the tenant webhooks, and anyone who could label a
// namespace could set or remove it. mallory may create and label
// namespaces (a namespace operator, not a cluster admin); neither she nor
// the platform team may write the tenant label, and the manager still
// does.
func TestOnlyTheManagerWritesTheTenantLabel(t *testing.T) {
	ctx := context.Background()
	tenant(t, "tl", nil, "tl-a")
	if err := env.Client.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tl-namespace-operator"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "create", "update", "patch"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tl-namespace-operators"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "tl-namespace-operator"},
		Subjects: []rbacv1.Subject{group("tl-namespace-operators")}}); err != nil {
		t.Fatal(err)
	}
	mallory := lead(t, "mallory", "tl-namespace-operators")
	const want = "only Canopy's manager may set, change or remove the label tenancy.canopy.dev/tenant"

	forged := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tl-forged", Labels: map[string]string{tenancyv1.LabelTenant: "tl"}}}
	expectDenied(t, "create a namespace with the tenant label", mallory.Create(ctx, forged), want)
	// Her own plain namespace; RBAC may take a moment to reach her.
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(mallory.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tl-plain"}}))
	})
	// relabel retries conflicts with the manager's own label writes.
	relabel := func(c client.Client, name string, mutate func(map[string]string)) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			ns := &corev1.Namespace{}
			if err := c.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
				return err
			}
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			mutate(ns.Labels)
			return c.Update(ctx, ns)
		})
	}
	expectDenied(t, "add the tenant label", relabel(mallory, "tl-plain", func(l map[string]string) { l[tenancyv1.LabelTenant] = "tl" }), want)
	expectDenied(t, "remove the tenant label", relabel(mallory, "tl-a", func(l map[string]string) { delete(l, tenancyv1.LabelTenant) }), want)
	expectDenied(t, "change the tenant label", relabel(mallory, "tl-a", func(l map[string]string) { l[tenancyv1.LabelTenant] = "other" }), want)
	expectDenied(t, "the platform team adds the tenant label", relabel(admin(t), "tl-plain", func(l map[string]string) { l[tenancyv1.LabelTenant] = "tl" }), want)
	// Other labels stay hers to write.
	if err := relabel(mallory, "tl-a", func(l map[string]string) { l["example.com/cost-owner"] = "mallory" }); err != nil {
		t.Errorf("an unrelated label was refused: %v", err)
	}

	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "tl-plain"}, ns); err != nil {
		t.Fatal(err)
	}
	if v, ok := ns.Labels[tenancyv1.LabelTenant]; ok {
		t.Errorf("tl-plain carries the tenant label %q", v)
	}
	waitLabel(t, "tl-a", tenancyv1.LabelTenant, "tl")
}
