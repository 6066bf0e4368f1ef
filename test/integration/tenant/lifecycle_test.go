package tenant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// TestLifecycleRetain creates a three-level tree, grows it, lets a team
// lead add a subnamespace, shrinks it around a namespace that still runs a
// pod, and deletes the Tenant under Retain.
func TestLifecycleRetain(t *testing.T) {
	ctx := context.Background()
	tn := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "lc"},
		Spec: tenancyv1.TenantSpec{
			Owners: []rbacv1.Subject{group("lc-leads")},
			Namespaces: []tenancyv1.TenantNamespace{
				{Name: "lc-a"}, {Name: "lc-a-1", Parent: "lc-a"}, {Name: "lc-b"},
			},
			RoleBindings: []tenancyv1.TenantRoleBinding{{ClusterRole: "view", Subjects: []rbacv1.Subject{group("lc-devs")}}},
			Quota:        &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("20")}},
			NamespaceDefaults: &tenancyv1.NamespaceDefaults{
				Labels: map[string]string{"team": "lc"},
				LimitRange: &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
					Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				}}},
			},
			Policies: &tenancyv1.TenantPolicies{
				NetworkIsolation: true, PodSecurity: "baseline",
				AllowedRegistries: []string{"registry.example.com/lc/"},
			},
			Subnamespaces:  &tenancyv1.SubnamespacePolicy{Max: 10},
			DeletionPolicy: tenancyv1.DeletionRetain,
		},
	}
	createTenant(t, tn)

	// Create: the tree appears with labels, bindings, quota and policies.
	got := waitReady(t, "lc")
	if want := []string{"lc", "lc-a", "lc-a-1", "lc-b"}; !slices.Equal(got.Status.Namespaces, want) {
		t.Errorf("status.namespaces = %v, want %v", got.Status.Namespaces, want)
	}
	if !slices.Contains(got.Finalizers, tenancyv1.FinalizerTenant) {
		t.Errorf("finalizers = %v", got.Finalizers)
	}
	for k, v := range map[string]string{tenancyv1.LabelTenant: "lc", "team": "lc", "pod-security.kubernetes.io/enforce": "baseline"} {
		waitNamespaceLabel(t, "lc-a-1", k, v)
	}
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "lc-a"}, ns); err != nil || len(ns.OwnerReferences) > 0 {
		t.Errorf("namespace lc-a: err=%v ownerReferences=%v", err, ns.OwnerReferences)
	}
	rb := &rbacv1.RoleBinding{}
	waitObject(t, rb, "lc-a-1", tenantctrl.OwnersBindingName, func() error {
		if rb.RoleRef.Name != "admin" {
			return fmt.Errorf("propagated owners binding refers to %s", rb.RoleRef.Name)
		}
		return nil
	})
	waitObject(t, &rbacv1.RoleBinding{}, "lc-b", tenantctrl.BindingName(0), nil)
	waitObject(t, &tenancyv1.HierarchicalQuota{}, "lc", tenantctrl.QuotaName, nil)
	waitObject(t, &corev1.LimitRange{}, "lc-a-1", tenantctrl.LimitRangeName, nil)
	waitObject(t, &networkingv1.NetworkPolicy{}, "lc-b", tenantctrl.NetworkPolicyName, nil)
	waitObject(t, &admissionv1.ValidatingAdmissionPolicy{}, "", tenantctrl.ClusterName("lc"), nil)
	waitObject(t, &admissionv1.ValidatingAdmissionPolicyBinding{}, "", tenantctrl.ClusterName("lc"), nil)

	// The owners can read their Tenant.
	leadC := lead(t, "lc-lead", "lc-leads")
	eventually(t, wait, func(ctx context.Context) error {
		return leadC.Get(ctx, client.ObjectKey{Name: "lc"}, &tenancyv1.Tenant{})
	})

	// Grow: a new namespace under lc-b.
	updateTenant(t, "lc", func(tn *tenancyv1.Tenant) {
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1.TenantNamespace{Name: "lc-b-1", Parent: "lc-b"})
	})
	waitNamespaceLabel(t, "lc-b-1", tenancyv1.LabelTenant, "lc")
	waitObject(t, &corev1.LimitRange{}, "lc-b-1", tenantctrl.LimitRangeName, nil)

	// Bindings and policies follow the spec: a binding's ClusterRole
	// changes (roleRef is immutable, so the binding is replaced) and the
	// allowed registries change in the admission policy.
	updateTenant(t, "lc", func(tn *tenancyv1.Tenant) {
		tn.Spec.RoleBindings[0].ClusterRole = "edit"
		tn.Spec.Policies.AllowedRegistries = []string{"registry.example.com/lc/", "mirror.example.com/lc/"}
	})
	rb0 := &rbacv1.RoleBinding{}
	waitObject(t, rb0, "lc-b", tenantctrl.BindingName(0), func() error {
		if rb0.RoleRef.Name != "edit" {
			return fmt.Errorf("propagated binding refers to %s, want edit", rb0.RoleRef.Name)
		}
		return nil
	})
	vap := &admissionv1.ValidatingAdmissionPolicy{}
	waitObject(t, vap, "", tenantctrl.ClusterName("lc"), func() error {
		if !strings.Contains(vap.Spec.Validations[0].Expression, "mirror.example.com/lc/") {
			return fmt.Errorf("admission policy lacks the new registry: %s", vap.Spec.Validations[0].Expression)
		}
		return nil
	})

	// A team-made subnamespace joins the tenant and inherits everything.
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(leadC.Create(ctx, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "lc-a", Name: "lc-a-team"}}))
	})
	waitNamespaceLabel(t, "lc-a-team", tenancyv1.LabelTenant, "lc")
	waitNamespaceLabel(t, "lc-a-team", "team", "lc")
	waitObject(t, &corev1.LimitRange{}, "lc-a-team", tenantctrl.LimitRangeName, nil)
	waitObject(t, &networkingv1.NetworkPolicy{}, "lc-a-team", tenantctrl.NetworkPolicyName, nil)
	waitObject(t, &rbacv1.RoleBinding{}, "lc-a-team", tenantctrl.OwnersBindingName, nil)
	eventually(t, wait, func(ctx context.Context) error {
		tn, err := getTenant(ctx, "lc")
		if err != nil {
			return err
		}
		if !slices.Contains(tn.Status.Namespaces, "lc-a-team") {
			return fmt.Errorf("status.namespaces = %v, want lc-a-team in it", tn.Status.Namespaces)
		}
		return nil
	})

	// Shrink: lc-b holds a pod, lc-b-1 is empty.
	waitOpen(t, "lc-b")
	if err := leadC.Create(ctx, pod("lc-b", "worker", "registry.example.com/lc/worker:1")); err != nil {
		t.Fatalf("creating pod as the lead: %v", err)
	}
	updateTenant(t, "lc", func(tn *tenancyv1.Tenant) {
		tn.Spec.Namespaces = slices.DeleteFunc(tn.Spec.Namespaces, func(n tenancyv1.TenantNamespace) bool {
			return n.Name == "lc-b" || n.Name == "lc-b-1"
		})
	})
	waitGone(t, &corev1.Namespace{}, "", "lc-b-1")
	waitCondition(t, "lc", tenancyv1.ConditionNamespacesReady, metav1.ConditionFalse, "lc-b (holds pods)")
	waitCondition(t, "lc", tenancyv1.ConditionReady, metav1.ConditionFalse, "lc-b")
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "lc-b"}, &corev1.Namespace{}); err != nil {
		t.Fatalf("namespace lc-b holding a pod was not kept: %v", err)
	}
	deletePod(t, "lc-b", "worker")
	waitGone(t, &corev1.Namespace{}, "", "lc-b")
	waitReady(t, "lc")

	// Delete under Retain: namespaces stay, generated policies go.
	if err := admin(t).Delete(ctx, &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "lc"}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &tenancyv1.Tenant{}, "", "lc")
	for _, n := range []string{"lc", "lc-a", "lc-a-1", "lc-a-team"} {
		waitNamespaceLabel(t, n, tenancyv1.LabelTenant, "")
		waitNamespaceLabel(t, n, "pod-security.kubernetes.io/enforce", "")
	}
	waitGone(t, &tenancyv1.HierarchicalQuota{}, "lc", tenantctrl.QuotaName)
	waitGone(t, &corev1.LimitRange{}, "lc-a", tenantctrl.LimitRangeName)
	waitGone(t, &networkingv1.NetworkPolicy{}, "lc-a-1", tenantctrl.NetworkPolicyName)
	waitGone(t, &admissionv1.ValidatingAdmissionPolicy{}, "", tenantctrl.ClusterName("lc"))
	waitGone(t, &rbacv1.ClusterRole{}, "", tenantctrl.ClusterName("lc"))
	// The tree stays an ordinary HNC tree.
	waitObject(t, &hncv1.SubnamespaceAnchor{}, "lc", "lc-a", nil)
	hc := &hncv1.HierarchyConfiguration{}
	waitObject(t, hc, "lc-a-1", hncv1.Singleton, func() error {
		if hc.Spec.Parent != "lc-a" {
			return fmt.Errorf("lc-a-1's parent = %q", hc.Spec.Parent)
		}
		return nil
	})
}

// TestDeletePolicy refuses to delete a tree holding a pod until force is
// set, then removes the whole tree.
func TestDeletePolicy(t *testing.T) {
	ctx := context.Background()
	createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "dp"},
		Spec: tenancyv1.TenantSpec{
			Owners:         []rbacv1.Subject{group("dp-leads")},
			Namespaces:     []tenancyv1.TenantNamespace{{Name: "dp-a"}, {Name: "dp-a-x", Parent: "dp-a"}, {Name: "dp-b"}},
			DeletionPolicy: tenancyv1.DeletionDelete,
		},
	})
	waitReady(t, "dp")
	// Every kind of workload holds a namespace: a pod, a suspended
	// CronJob, a Deployment (whose pods kube-controller-manager may add).
	waitOpen(t, "dp-a-x")
	waitOpen(t, "dp-a")
	waitOpen(t, "dp-b")
	if err := env.Client.Create(ctx, pod("dp-a-x", "busy", "example.com/busy")); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "dp"}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app"}}},
	}
	suspended := true
	cron := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: "dp-a", Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: &suspended, JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: template.Spec.Containers,
			}}},
		}},
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "dp-b", Name: "web"},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
	}
	for _, obj := range []client.Object{cron, deploy} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin(t).Delete(ctx, &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "dp"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, func(ctx context.Context) error {
		tn, err := getTenant(ctx, "dp")
		if err != nil {
			return err
		}
		c := findCondition(tn, tenancyv1.ConditionReady)
		if c == nil || c.Reason != tenantctrl.ReasonDeletionBlocked || !contains(c.Message, "dp-a-x (holds pods)") ||
			!contains(c.Message, "dp-a (holds cronjobs)") || !contains(c.Message, "deployments)") || !contains(c.Message, "dp-b (holds") {
			return fmt.Errorf("Ready = %+v, want DeletionBlocked naming dp-a-x (pods), dp-a (cronjobs) and dp-b (deployments)", c)
		}
		return nil
	})
	for _, n := range []string{"dp", "dp-a", "dp-a-x", "dp-b"} {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: n}, &corev1.Namespace{}); err != nil {
			t.Errorf("namespace %s went while deletion was refused: %v", n, err)
		}
	}
	updateTenant(t, "dp", func(tn *tenancyv1.Tenant) { tn.Spec.Force = true })
	for _, n := range []string{"dp-a-x", "dp-a", "dp-b", "dp"} {
		waitGone(t, &corev1.Namespace{}, "", n)
	}
	waitGone(t, &tenancyv1.Tenant{}, "", "dp")
}
