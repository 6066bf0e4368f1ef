package degraded

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// The trees built before the manager stops:
//
//	dg-root             HRQ dg-pods (pods: 10), sources Role dg-reader and RoleBinding dg-readers
//	└── dg-sub          subnamespace; copies of both; pod dg-pod
//	dg-free             HierarchicalQuota dg-hq (configmaps: 100), nothing on pods
//	└── dg-free-sub     subnamespace
//	dg-t                Tenant dg-t's root (HierarchicalQuota tenant-quota, pods: 10)
//	└── dg-t-a          generated RoleBinding, NetworkPolicy and LimitRange
//	dg-solo             Tenant dg-solo's root, its only namespace: in a tenant, in no tree
//	dg-left             had a subnamespace, now deleted: outside every tree, keeps its HierarchyConfiguration
//	dg-plain            never in a tree
//	dg-conflict         outside every tree, holds an anchor for dg-plain (in Conflict)
const (
	root, sub         = "dg-root", "dg-sub"
	free, freeSub     = "dg-free", "dg-free-sub"
	tenant, tenantNS  = "dg-t", "dg-t-a"
	solo              = "dg-solo"
	left, leftSub     = "dg-left", "dg-left-sub"
	plain             = "dg-plain"
	conflicted        = "dg-conflict"
	hrqName, podLimit = "dg-pods", "10"
	podName           = "dg-pod"
	hqName            = "dg-hq"
)

// inTree lists the namespaces that must be in a tree before the outage and
// after the restart.
var inTree = []string{root, sub, free, freeSub, tenant, tenantNS}

func sourceRole() *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: meta(root, "dg-reader"),
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}}
}

func sourceBinding() *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: meta(root, "dg-readers"),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "dg-reader"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "dg-team"}}}
}

func pod(ns, name string) *corev1.Pod {
	no := false
	return &corev1.Pod{ObjectMeta: meta(ns, name), Spec: corev1.PodSpec{
		AutomountServiceAccountToken: &no,
		Containers:                   []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
	}}
}

func tenantObject() *tenancyv1.Tenant {
	return &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}, Spec: tenancyv1.TenantSpec{
		Owners:       []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "dg-leads"}},
		Namespaces:   []tenancyv1.TenantNamespace{{Name: tenantNS}},
		RoleBindings: []tenancyv1.TenantRoleBinding{{ClusterRole: "view", Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "dg-devs"}}}},
		Quota:        &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse(podLimit)}},
		NamespaceDefaults: &tenancyv1.NamespaceDefaults{LimitRange: &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
		}}}},
		Policies: &tenancyv1.TenantPolicies{NetworkIsolation: true},
	}}
}

// buildTrees builds the trees above with the manager running and waits
// until Canopy has done its part.
func buildTrees(t *testing.T, c client.Client) {
	t.Helper()
	for _, nm := range []string{root, free, left, plain, conflicted} {
		create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nm}})
	}
	create(t, c, &api.SubnamespaceAnchor{ObjectMeta: meta(root, sub)})
	create(t, c, &api.SubnamespaceAnchor{ObjectMeta: meta(free, freeSub)})
	create(t, c, &api.SubnamespaceAnchor{ObjectMeta: meta(left, leftSub)})
	create(t, c, sourceRole())
	create(t, c, sourceBinding())
	create(t, c, tenantObject())
	create(t, c, &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: solo}, Spec: tenancyv1.TenantSpec{
		Owners: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "dg-solo-leads"}},
	}})
	for _, nm := range []string{root, sub, free, freeSub, left, leftSub} {
		waitNamespace(t, c, nm, "true")
	}

	// dg-left leaves the tree: its only subnamespace goes, and its
	// HierarchyConfiguration stays behind, as it does in any namespace that
	// once had children.
	if err := c.Delete(context.Background(), &api.SubnamespaceAnchor{ObjectMeta: meta(left, leftSub)}); err != nil {
		t.Fatalf("deleting anchor %s/%s: %v", left, leftSub, err)
	}
	waitGone(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leftSub}}, wait)
	waitNamespace(t, c, left, "")
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: left, Name: api.Singleton}, &api.HierarchyConfiguration{}); err != nil {
		t.Fatalf("%s's HierarchyConfiguration after its subnamespace went: %v", left, err)
	}

	// An anchor for a namespace that exists and is not its subnamespace:
	// the webhook refuses users one, so it is written as the manager, as
	// HNC's leftovers or a race leave one.
	create(t, env.Client, &api.SubnamespaceAnchor{ObjectMeta: meta(conflicted, plain)})
	framework.Eventually(t, wait, func(ctx context.Context) error {
		a := &api.SubnamespaceAnchor{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: conflicted, Name: plain}, a); err != nil {
			return err
		}
		if a.Status.State != api.Conflict {
			return fmt.Errorf("anchor %s/%s is %q, want Conflict", conflicted, plain, a.Status.State)
		}
		return nil
	})
	waitNamespace(t, c, conflicted, "")

	create(t, c, &api.HierarchicalResourceQuota{ObjectMeta: meta(root, hrqName),
		Spec: api.HierarchicalResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse(podLimit)}}})
	for _, nm := range []string{root, sub} {
		waitSingleton(t, c, nm)
	}
	create(t, c, &tenancyv1.HierarchicalQuota{ObjectMeta: meta(free, hqName),
		Spec: tenancyv1.HierarchicalQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceConfigMaps: resource.MustParse("100")}}})
	create(t, c, pod(sub, podName))
	waitTreeIntact(t, c)
}

// waitSingleton waits until the namespace's unscoped singleton ResourceQuota
// has the HRQ's pods limit in spec and status (before that, quota admission
// refuses pods as "status unknown").
func waitSingleton(t *testing.T, c client.Client, ns string) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		rq := &corev1.ResourceQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: quota.UnscopedSingletonName}, rq); err != nil {
			return err
		}
		want := resource.MustParse(podLimit)
		if h := rq.Spec.Hard[corev1.ResourcePods]; h.Cmp(want) != 0 {
			return fmt.Errorf("singleton in %s: spec.hard.pods %s, want %s", ns, h.String(), podLimit)
		}
		if _, ok := rq.Status.Used[corev1.ResourcePods]; !ok {
			return fmt.Errorf("singleton in %s: status.used has no pods yet", ns)
		}
		return nil
	})
}

// waitTreeIntact waits until every tree is as buildTrees left it: the
// namespaces in their trees, anchors Ok, the propagated copies equal to
// their sources, the singletons at the HRQ's limit, and the Tenant Ready
// with its generated objects.
func waitTreeIntact(t *testing.T, c client.Client) {
	t.Helper()
	for _, nm := range inTree {
		waitNamespace(t, c, nm, "true")
	}
	waitNamespace(t, c, solo, "")
	framework.Eventually(t, wait, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: solo}, n); err != nil {
			return err
		}
		if n.Labels[tenancyv1.LabelTenant] != solo {
			return fmt.Errorf("namespace %s: %s=%q, want %q", solo, tenancyv1.LabelTenant, n.Labels[tenancyv1.LabelTenant], solo)
		}
		return nil
	})
	for _, a := range []client.ObjectKey{{Namespace: root, Name: sub}, {Namespace: free, Name: freeSub}} {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			anchor := &api.SubnamespaceAnchor{}
			if err := c.Get(ctx, a, anchor); err != nil {
				return err
			}
			if anchor.Status.State != api.Ok {
				return fmt.Errorf("anchor %s is %q, want Ok", a, anchor.Status.State)
			}
			return nil
		})
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		role := &rbacv1.Role{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: sub, Name: "dg-reader"}, role); err != nil {
			return fmt.Errorf("Role copy in %s: %w", sub, err)
		}
		if role.Labels[api.LabelInheritedFrom] != root || !equality.Semantic.DeepEqual(role.Rules, sourceRole().Rules) {
			return fmt.Errorf("Role copy in %s differs from its source: labels %v, rules %v", sub, role.Labels, role.Rules)
		}
		rb := &rbacv1.RoleBinding{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: sub, Name: "dg-readers"}, rb); err != nil {
			return fmt.Errorf("RoleBinding copy in %s: %w", sub, err)
		}
		if rb.Labels[api.LabelInheritedFrom] != root || !equality.Semantic.DeepEqual(rb.Subjects, sourceBinding().Subjects) {
			return fmt.Errorf("RoleBinding copy in %s differs from its source: labels %v, subjects %v", sub, rb.Labels, rb.Subjects)
		}
		return nil
	})
	for _, nm := range []string{root, sub} {
		waitSingleton(t, c, nm)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		tn := &tenancyv1.Tenant{}
		if err := c.Get(ctx, client.ObjectKey{Name: tenant}, tn); err != nil {
			return err
		}
		ready := apimeta.FindStatusCondition(tn.Status.Conditions, tenancyv1.ConditionReady)
		if ready == nil || ready.Status != metav1.ConditionTrue || ready.ObservedGeneration != tn.Generation {
			return fmt.Errorf("tenant %s: Ready is %+v at generation %d", tenant, ready, tn.Generation)
		}
		for _, obj := range []client.Object{
			&rbacv1.RoleBinding{ObjectMeta: meta(tenantNS, tenantctrl.BindingName(0))},
			&corev1.LimitRange{ObjectMeta: meta(tenantNS, tenantctrl.LimitRangeName)},
			&networkingv1.NetworkPolicy{ObjectMeta: meta(tenantNS, tenantctrl.NetworkPolicyName)},
			&tenancyv1.HierarchicalQuota{ObjectMeta: meta(tenant, tenantctrl.QuotaName)},
		} {
			if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return fmt.Errorf("tenant %s's %T %s: %w", tenant, obj, client.ObjectKeyFromObject(obj), err)
			}
		}
		return nil
	})
}
