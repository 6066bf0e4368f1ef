package tenant

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func validTenant() *tenancyv1.Tenant {
	return &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "payments"},
		Spec: tenancyv1.TenantSpec{
			Owners: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "payments-leads"}},
			Namespaces: []tenancyv1.TenantNamespace{
				{Name: "payments-api"}, {Name: "payments-api-staging", Parent: "payments-api"}, {Name: "payments-batch"},
			},
			RoleBindings:  []tenancyv1.TenantRoleBinding{{ClusterRole: "view", Subjects: []rbacv1.Subject{{Kind: "Group", Name: "devs"}}}},
			Quota:         &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("40")}},
			Teams:         []tenancyv1.Team{{Name: "api", Namespace: "payments-api"}},
			Subnamespaces: &tenancyv1.SubnamespacePolicy{Max: 10},
		},
	}
}

func world(ns map[string]NamespaceFacts) World {
	return World{
		Namespace:           func(n string) NamespaceFacts { return ns[n] },
		ClusterRoleExists:   func(n string) bool { return n != "ghost" },
		AllowedClusterRoles: []string{"admin", "edit", "view", "ghost"},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*tenancyv1.Tenant)
		ns     map[string]NamespaceFacts
		// want are "field: substring" pairs, one per expected error.
		want []string
	}{
		{name: "valid", mutate: func(*tenancyv1.Tenant) {}},
		{name: "valid with its own existing namespaces", mutate: func(*tenancyv1.Tenant) {}, ns: map[string]NamespaceFacts{
			"payments":     {Exists: true, Tenant: "payments"},
			"payments-api": {Exists: true, Tenant: "payments", Parent: "payments", IsSub: true},
		}},
		{name: "bad tenant name", mutate: func(t *tenancyv1.Tenant) { t.Name = "Payments" },
			want: []string{"metadata.name: Invalid value"}},
		{name: "bad namespace name", mutate: func(t *tenancyv1.Tenant) { t.Spec.Namespaces[2].Name = "Batch_1" },
			want: []string{"spec.namespaces[2].name: Invalid value"}},
		{name: "duplicate namespace", mutate: func(t *tenancyv1.Tenant) { t.Spec.Namespaces[2].Name = "payments-api" },
			want: []string{"spec.namespaces[2].name: Duplicate value"}},
		{name: "namespace named like the root", mutate: func(t *tenancyv1.Tenant) { t.Spec.Namespaces[2].Name = "payments" },
			want: []string{"spec.namespaces[2].name: Invalid value: \"payments\": is the root namespace"}},
		{name: "parent not listed", mutate: func(t *tenancyv1.Tenant) { t.Spec.Namespaces[2].Parent = "nowhere" },
			want: []string{"spec.namespaces[2].parent: Invalid value: \"nowhere\": must be \"payments\" (the root) or a namespace listed"}},
		{name: "cycle", mutate: func(t *tenancyv1.Tenant) {
			t.Spec.Namespaces[0].Parent = "payments-api-staging"
		}, want: []string{"spec.namespaces[0].parent: Invalid value: \"payments-api-staging\": forms a cycle: payments-api -> payments-api-staging -> payments-api",
			"spec.namespaces[1].parent: Invalid value: \"payments-api\": forms a cycle"}},
		{name: "namespace of another tenant", mutate: func(*tenancyv1.Tenant) {}, ns: map[string]NamespaceFacts{
			"payments-batch": {Exists: true, Tenant: "search", Parent: "search", IsSub: true},
		}, want: []string{"spec.namespaces[2].name: Forbidden: namespace \"payments-batch\" already belongs to tenant \"search\""}},
		{name: "namespace in another tree", mutate: func(*tenancyv1.Tenant) {}, ns: map[string]NamespaceFacts{
			"payments-batch": {Exists: true, Parent: "legacy", IsSub: true},
		}, want: []string{"spec.namespaces[2].name: Forbidden: namespace \"payments-batch\" already exists and belongs to another tree (its parent is \"legacy\")"}},
		{name: "existing plain namespace", mutate: func(*tenancyv1.Tenant) {}, ns: map[string]NamespaceFacts{
			"payments-batch": {Exists: true},
		}, want: []string{"spec.namespaces[2].name: Forbidden: namespace \"payments-batch\" already exists and is not in any tree"}},
		{name: "root of another tenant", mutate: func(*tenancyv1.Tenant) {}, ns: map[string]NamespaceFacts{
			"payments": {Exists: true, Tenant: "other"},
		}, want: []string{"metadata.name: Forbidden: root namespace \"payments\" already belongs to tenant \"other\""}},
		{name: "root inside another tree", mutate: func(*tenancyv1.Tenant) {}, ns: map[string]NamespaceFacts{
			"payments": {Exists: true, Parent: "company"},
		}, want: []string{"metadata.name: Forbidden: root namespace \"payments\" already belongs to another tree"}},
		{name: "cluster role not allowed", mutate: func(t *tenancyv1.Tenant) { t.Spec.RoleBindings[0].ClusterRole = "cluster-admin" },
			want: []string{"spec.roleBindings[0].clusterRole: Unsupported value: \"cluster-admin\": supported values: \"admin\", \"edit\", \"view\""}},
		{name: "unknown cluster role", mutate: func(t *tenancyv1.Tenant) { t.Spec.RoleBindings[0].ClusterRole = "ghost" },
			want: []string{"spec.roleBindings[0].clusterRole: Not found: \"ghost\""}},
		{name: "bad subject kind", mutate: func(t *tenancyv1.Tenant) { t.Spec.Owners[0].Kind = "Team" },
			want: []string{"spec.owners[0].kind: Unsupported value: \"Team\""}},
		{name: "negative quantity", mutate: func(t *tenancyv1.Tenant) {
			t.Spec.Quota.Hard[corev1.ResourcePods] = resource.MustParse("-1")
		}, want: []string{"spec.quota.hard[pods]: Invalid value: \"-1\": must not be negative"}},
		{name: "team namespace outside the tree", mutate: func(t *tenancyv1.Tenant) { t.Spec.Teams[0].Namespace = "elsewhere" },
			want: []string{"spec.teams[0].namespace: Invalid value: \"elsewhere\": is not in tenant \"payments\"'s tree"}},
		{name: "team namespace made by the team", mutate: func(t *tenancyv1.Tenant) { t.Spec.Teams[0].Namespace = "payments-api-dev" },
			ns: map[string]NamespaceFacts{"payments-api-dev": {Exists: true, Tenant: "payments", Parent: "payments-api", IsSub: true}}},
		{name: "duplicate team", mutate: func(t *tenancyv1.Tenant) {
			t.Spec.Teams = append(t.Spec.Teams, tenancyv1.Team{Name: "api", Namespace: "payments-batch"})
		}, want: []string{"spec.teams[1].name: Duplicate value: \"api\""}},
		{name: "max below the listed tree", mutate: func(t *tenancyv1.Tenant) { t.Spec.Subnamespaces.Max = 3 },
			want: []string{"spec.subnamespaces.max: Invalid value: 3: the tree already lists 4 namespaces"}},
		{name: "bad node selector", mutate: func(t *tenancyv1.Tenant) {
			t.Spec.Policies = &tenancyv1.TenantPolicies{NodeSelector: map[string]string{"pool": "not valid!"}}
		}, want: []string{"spec.policies.nodeSelector[pool]: Invalid value: \"not valid!\""}},
		{name: "registry entries", mutate: func(t *tenancyv1.Tenant) {
			t.Spec.Policies = &tenancyv1.TenantPolicies{AllowedRegistries: []string{
				"registry.example.com", "localhost:5000", "nginx", "quay.io/team/", " ", "https://registry.example.com",
				"registry.example.com/app:1", "registry.example.com/app@sha256:00",
			}}
		}, want: []string{
			"spec.policies.allowedRegistries[4]: Required value",
			"spec.policies.allowedRegistries[5]: Invalid value: \"https://registry.example.com\": a registry or repository name without a scheme",
			"spec.policies.allowedRegistries[6]: Invalid value: \"registry.example.com/app:1\": a registry or repository name without a tag",
			"spec.policies.allowedRegistries[7]: Invalid value: \"registry.example.com/app@sha256:00\": a registry or repository name without a digest",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := validTenant()
			tc.mutate(tn)
			errs := Validate(tn, world(tc.ns))
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestDecideAnchor(t *testing.T) {
	no := false
	tests := []struct {
		name   string
		policy *tenancyv1.SubnamespacePolicy
		size   int
		want   string
	}{
		{"no policy", nil, 100, ""},
		{"allowed under max", &tenancyv1.SubnamespacePolicy{Max: 5}, 4, ""},
		{"at max", &tenancyv1.SubnamespacePolicy{Max: 5}, 5, "spec.subnamespaces.max is 5"},
		{"not allowed", &tenancyv1.SubnamespacePolicy{Allowed: &no}, 1, "spec.subnamespaces.allowed is false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: tenancyv1.TenantSpec{Subnamespaces: tc.policy}}
			got := DecideAnchor(tn, tc.size)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("DecideAnchor = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecideHierarchy(t *testing.T) {
	tests := []struct {
		name string
		c    HierarchyChange
		want string
	}{
		{"no change", HierarchyChange{Namespace: "p-a", Tenant: "p", OldParent: "p", NewParent: "p", NewParentTenant: "p"}, ""},
		{"root gets a parent", HierarchyChange{Namespace: "p", Tenant: "p", NewParent: "company"}, "is the root of tenant \"p\""},
		{"moved out of the tenant", HierarchyChange{Namespace: "p-a", Tenant: "p", OldParent: "p", NewParent: "q"}, "outside the tenant's tree"},
		{"moved within the tenant", HierarchyChange{Namespace: "p-a", Tenant: "p", OldParent: "p", NewParent: "p-b", NewParentTenant: "p"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideHierarchy(tc.c)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("DecideHierarchy = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDecideQuota(t *testing.T) {
	tn := validTenant()
	rl := func(cpu string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse(cpu)}
	}
	tests := []struct {
		name     string
		t        *tenancyv1.Tenant
		quota    string
		hard     corev1.ResourceList
		deleting bool
		want     string
	}{
		{"tenant quota raised", tn, "tenant-quota", rl("80"), false, "generated by Tenant \"payments\""},
		{"tenant quota deleted", tn, "tenant-quota", nil, true, "generated by Tenant"},
		{"team quota below", tn, "team", rl("10"), false, ""},
		{"team quota above", tn, "team", rl("41"), false, "spec.hard[requests.cpu]: 41 exceeds tenant \"payments\"'s quota of 40"},
		{"team quota deleted", tn, "team", nil, true, ""},
		{"no tenant", nil, "tenant-quota", rl("80"), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideQuota(tc.t, tc.quota, tc.hard, tc.deleting)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("DecideQuota = %q, want %q", got, tc.want)
			}
		})
	}
	if d := cmp.Diff("", DecideGenerated("RoleBinding", "x", "")); d != "" {
		t.Errorf("ungenerated object denied: %s", d)
	}
	if got := DecideGenerated("RoleBinding", "canopy-tenant-owners", "payments"); !strings.Contains(got, "generated by Tenant \"payments\"") {
		t.Errorf("DecideGenerated = %q", got)
	}
}
