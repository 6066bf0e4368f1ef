package tenant

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// NamespaceMeta returns the labels and annotations the Tenant sets on every
// namespace of its tree: the tenant label, Pod Security Admission's enforce
// level, and the namespace defaults. The tenant label and Pod Security
// labels win over defaults of the same key.
func NamespaceMeta(t *tenancyv1.Tenant) (labels, annotations map[string]string) {
	labels = map[string]string{}
	annotations = map[string]string{}
	if d := t.Spec.NamespaceDefaults; d != nil {
		maps.Copy(labels, d.Labels)
		maps.Copy(annotations, d.Annotations)
	}
	if p := t.Spec.Policies; p != nil && p.PodSecurity != "" {
		labels[LabelPodSecurityEnforce] = string(p.PodSecurity)
		labels[LabelPodSecurityEnforceVersion] = "latest"
	}
	labels[tenancyv1.LabelTenant] = t.Name
	return labels, annotations
}

// Namespace is the namespace configuration the Tenant applies to name.
func Namespace(t *tenancyv1.Tenant, name string) *corev1.Namespace {
	labels, annotations := NamespaceMeta(t)
	ns := &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}
	if len(annotations) > 0 {
		ns.Annotations = annotations
	}
	return ns
}

// ParentOf returns the parent namespace of a listed namespace: its parent,
// or the root when the parent is empty.
func ParentOf(t *tenancyv1.Tenant, n tenancyv1.TenantNamespace) string {
	if n.Parent == "" {
		return t.Name
	}
	return n.Parent
}

// Anchors returns one SubnamespaceAnchor per listed namespace, in its parent.
func Anchors(t *tenancyv1.Tenant) []*hncv1.SubnamespaceAnchor {
	out := make([]*hncv1.SubnamespaceAnchor, 0, len(t.Spec.Namespaces))
	for _, n := range t.Spec.Namespaces {
		out = append(out, &hncv1.SubnamespaceAnchor{
			TypeMeta: metav1.TypeMeta{APIVersion: hncv1.GroupVersion.String(), Kind: "SubnamespaceAnchor"},
			ObjectMeta: metav1.ObjectMeta{
				Name: n.Name, Namespace: ParentOf(t, n), Labels: generatedLabels(t),
			},
		})
	}
	return out
}

// RoleBindings returns the bindings at the root: the owners get admin, and
// each spec.roleBindings entry its ClusterRole. The hierarchy engine
// propagates them to every namespace of the tree.
func RoleBindings(t *tenancyv1.Tenant) []*rbacv1.RoleBinding {
	var out []*rbacv1.RoleBinding
	rb := func(name, role string, subjects []rbacv1.Subject) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.Name, Labels: generatedLabels(t)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   slices.Clone(subjects),
		}
	}
	if len(t.Spec.Owners) > 0 {
		out = append(out, rb(OwnersBindingName, OwnersClusterRole, t.Spec.Owners))
	}
	for i, b := range t.Spec.RoleBindings {
		out = append(out, rb(BindingName(i), b.ClusterRole, b.Subjects))
	}
	return out
}

// Quota returns the HierarchicalQuota at the root, or nil without spec.quota.
func Quota(t *tenancyv1.Tenant) *tenancyv1.HierarchicalQuota {
	if t.Spec.Quota == nil || len(t.Spec.Quota.Hard) == 0 {
		return nil
	}
	return &tenancyv1.HierarchicalQuota{
		TypeMeta:   metav1.TypeMeta{APIVersion: tenancyv1.GroupVersion.String(), Kind: "HierarchicalQuota"},
		ObjectMeta: metav1.ObjectMeta{Name: QuotaName, Namespace: t.Name, Labels: generatedLabels(t)},
		Spec:       tenancyv1.HierarchicalQuotaSpec{Hard: t.Spec.Quota.Hard.DeepCopy()},
	}
}

// LimitRange returns the default LimitRange for namespace ns, or nil without
// namespaceDefaults.limitRange.
func LimitRange(t *tenancyv1.Tenant, ns string) *corev1.LimitRange {
	d := t.Spec.NamespaceDefaults
	if d == nil || d.LimitRange == nil || len(d.LimitRange.Limits) == 0 {
		return nil
	}
	return &corev1.LimitRange{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"},
		ObjectMeta: metav1.ObjectMeta{Name: LimitRangeName, Namespace: ns, Labels: generatedLabels(t)},
		Spec:       *d.LimitRange.DeepCopy(),
	}
}

// NetworkPolicy returns the isolation policy for namespace ns, or nil
// without networkIsolation: every pod accepts ingress only from namespaces
// labelled with the tenant, so traffic from outside the tenant is denied.
func NetworkPolicy(t *tenancyv1.Tenant, ns string) *networkingv1.NetworkPolicy {
	if t.Spec.Policies == nil || !t.Spec.Policies.NetworkIsolation {
		return nil
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: networkingv1.SchemeGroupVersion.String(), Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: NetworkPolicyName, Namespace: ns, Labels: generatedLabels(t)},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{tenancyv1.LabelTenant: t.Name}},
				}},
			}},
		},
	}
}

// OwnerAccess returns the ClusterRole and ClusterRoleBinding that let the
// owners read their own Tenant (and only it), or nils without owners.
func OwnerAccess(t *tenancyv1.Tenant) (*rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding) {
	if len(t.Spec.Owners) == 0 {
		return nil, nil
	}
	name := ClusterName(t.Name)
	cr := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: generatedLabels(t)},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{tenancyv1.GroupVersion.Group}, Resources: []string{"tenants", "tenants/status"},
			ResourceNames: []string{t.Name}, Verbs: []string{"get", "watch"},
		}},
	}
	crb := &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: generatedLabels(t)},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   slices.Clone(t.Spec.Owners),
	}
	return cr, crb
}
