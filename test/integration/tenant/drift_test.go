package tenant

import (
	"context"
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// TestDriftReverted has a cluster admin hand-edit and delete what a Tenant
// generated, and sees each restored. The manager resyncs its caches only
// every 10 hours and a converged Tenant is not requeued, so a restore
// within the wait can only come from the controller watching the
// generated objects.
func TestDriftReverted(t *testing.T) {
	ctx := context.Background()
	createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "dr"},
		Spec: tenancyv1.TenantSpec{
			Owners:     []rbacv1.Subject{group("dr-leads")},
			Namespaces: []tenancyv1.TenantNamespace{{Name: "dr-a"}},
			Quota:      &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}},
			NamespaceDefaults: &tenancyv1.NamespaceDefaults{
				Labels:      map[string]string{"team": "dr"},
				Annotations: map[string]string{"example.com/owner": "dr-team"},
				LimitRange: &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
					Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				}}},
			},
			Policies: &tenancyv1.TenantPolicies{
				NetworkIsolation:  true,
				PodSecurity:       "baseline",
				AllowedRegistries: []string{"registry.example.com/dr/"},
				NodeSelector:      map[string]string{"pool": "dr"},
			},
		},
	})
	waitReady(t, "dr")
	// Let the tree settle (propagated bindings, per-namespace policies), so
	// the reconciles that creation set off are over before the edits.
	waitObject(t, &rbacv1.RoleBinding{}, "dr-a", tenantctrl.OwnersBindingName, nil)
	waitObject(t, &corev1.LimitRange{}, "dr-a", tenantctrl.LimitRangeName, nil)
	waitObject(t, &admissionv1.MutatingAdmissionPolicyBinding{}, "", tenantctrl.ClusterName("dr"), nil)
	a := admin(t)
	name := tenantctrl.ClusterName("dr")

	// Cluster-scoped objects the webhook cannot select by namespace: the
	// admin may change them, and the controller puts them back.
	t.Run("validating policy edited", func(t *testing.T) {
		vap := &admissionv1.ValidatingAdmissionPolicy{}
		waitObject(t, vap, "", name, nil)
		eventually(t, wait, func(ctx context.Context) error {
			if err := a.Get(ctx, client.ObjectKey{Name: name}, vap); err != nil {
				return err
			}
			vap.Spec.Validations = []admissionv1.Validation{{Expression: "true"}}
			return a.Update(ctx, vap)
		})
		waitObject(t, vap, "", name, func() error {
			if len(vap.Spec.Validations) == 0 || !strings.Contains(vap.Spec.Validations[0].Expression, "registry.example.com/dr/") {
				return fmt.Errorf("validations not restored: %+v", vap.Spec.Validations)
			}
			return nil
		})
	})
	t.Run("validating policy binding deleted", func(t *testing.T) {
		deleteAndWaitRestored(t, a, &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	t.Run("mutating policy deleted", func(t *testing.T) {
		deleteAndWaitRestored(t, a, &admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	t.Run("mutating policy binding edited", func(t *testing.T) {
		b := &admissionv1.MutatingAdmissionPolicyBinding{}
		eventually(t, wait, func(ctx context.Context) error {
			if err := a.Get(ctx, client.ObjectKey{Name: name}, b); err != nil {
				return err
			}
			b.Spec.MatchResources.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"nobody": "x"}}
			return a.Update(ctx, b)
		})
		waitObject(t, b, "", name, func() error {
			if got := b.Spec.MatchResources.NamespaceSelector.MatchLabels; got[tenancyv1.LabelTenant] != "dr" || len(got) != 1 {
				return fmt.Errorf("binding selector not restored: %v", got)
			}
			return nil
		})
	})
	t.Run("owners' cluster role binding deleted", func(t *testing.T) {
		deleteAndWaitRestored(t, a, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}})
	})
	t.Run("owners' cluster role widened", func(t *testing.T) {
		cr := &rbacv1.ClusterRole{}
		eventually(t, wait, func(ctx context.Context) error {
			if err := a.Get(ctx, client.ObjectKey{Name: name}, cr); err != nil {
				return err
			}
			cr.Rules[0].ResourceNames = nil // every Tenant
			return a.Update(ctx, cr)
		})
		waitObject(t, cr, "", name, func() error {
			if len(cr.Rules) != 1 || len(cr.Rules[0].ResourceNames) != 1 || cr.Rules[0].ResourceNames[0] != "dr" {
				return fmt.Errorf("cluster role not restored: %+v", cr.Rules)
			}
			return nil
		})
	})

	// Namespace metadata the Tenant sets.
	t.Run("namespace labels and annotations removed", func(t *testing.T) {
		eventually(t, wait, func(ctx context.Context) error {
			ns := &corev1.Namespace{}
			if err := a.Get(ctx, client.ObjectKey{Name: "dr-a"}, ns); err != nil {
				return err
			}
			delete(ns.Labels, "pod-security.kubernetes.io/enforce")
			delete(ns.Labels, "team")
			delete(ns.Annotations, "example.com/owner")
			return a.Update(ctx, ns)
		})
		ns := &corev1.Namespace{}
		waitObject(t, ns, "", "dr-a", func() error {
			if ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" || ns.Labels["team"] != "dr" || ns.Annotations["example.com/owner"] != "dr-team" {
				return fmt.Errorf("namespace metadata not restored: labels %v annotations %v", ns.Labels, ns.Annotations)
			}
			return nil
		})
	})
	t.Run("namespace annotation edited", func(t *testing.T) {
		eventually(t, wait, func(ctx context.Context) error {
			ns := &corev1.Namespace{}
			if err := a.Get(ctx, client.ObjectKey{Name: "dr"}, ns); err != nil {
				return err
			}
			ns.Annotations["example.com/owner"] = "someone-else"
			return a.Update(ctx, ns)
		})
		ns := &corev1.Namespace{}
		waitObject(t, ns, "", "dr", func() error {
			if got := ns.Annotations["example.com/owner"]; got != "dr-team" {
				return fmt.Errorf("annotation = %q, want dr-team restored", got)
			}
			return nil
		})
	})

	// Namespaced objects in the tree are protected by the webhook even
	// from cluster admins; only a manager outage (or the manager's own
	// credentials, used here to stand in for one) can change them. The
	// controller still restores them at once.
	t.Run("protected objects deny the admin", func(t *testing.T) {
		expectDenied(t, "admin deletes the generated NetworkPolicy",
			a.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "dr-a", Name: tenantctrl.NetworkPolicyName}}),
			"generated by Tenant \"dr\"")
		expectDenied(t, "admin deletes the tenant quota",
			a.Delete(ctx, &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "dr", Name: tenantctrl.QuotaName}}),
			"generated by Tenant \"dr\"")
	})
	for _, obj := range []client.Object{
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "dr-a", Name: tenantctrl.NetworkPolicyName}},
		&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: "dr-a", Name: tenantctrl.LimitRangeName}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "dr", Name: tenantctrl.OwnersBindingName}},
		&tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "dr", Name: tenantctrl.QuotaName}},
	} {
		t.Run(fmt.Sprintf("%T deleted during an outage", obj), func(t *testing.T) {
			deleteAndWaitRestored(t, env.Client, obj)
		})
	}
	t.Run("limit range edited during an outage", func(t *testing.T) {
		lr := &corev1.LimitRange{}
		eventually(t, wait, func(ctx context.Context) error {
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "dr-a", Name: tenantctrl.LimitRangeName}, lr); err != nil {
				return err
			}
			lr.Spec.Limits[0].Default[corev1.ResourceCPU] = resource.MustParse("8")
			return env.Client.Update(ctx, lr, client.FieldOwner("hand-edit"))
		})
		waitObject(t, lr, "dr-a", tenantctrl.LimitRangeName, func() error {
			if got := lr.Spec.Limits[0].Default[corev1.ResourceCPU]; got.String() != "500m" {
				return fmt.Errorf("limit range default cpu = %s, want 500m restored", got.String())
			}
			return nil
		})
	})
}

// deleteAndWaitRestored deletes obj as c and waits until an object of that
// name exists again with a different UID.
func deleteAndWaitRestored(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	waitObject(t, obj, key.Namespace, key.Name, nil)
	uid := obj.GetUID()
	if err := c.Delete(context.Background(), obj); err != nil {
		t.Fatalf("deleting %T %s: %v", obj, key, err)
	}
	waitObject(t, obj, key.Namespace, key.Name, func() error {
		if obj.GetUID() == uid {
			return fmt.Errorf("%T %s not deleted yet", obj, key)
		}
		return nil
	})
}
