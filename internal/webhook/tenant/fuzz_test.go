package tenant

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// FuzzValidateTenant builds Tenants from arbitrary names, parents, cluster
// roles, registries and node selectors, and checks what Validate promises:
// it does not panic, it is deterministic, every error names a field under
// metadata or spec, and a Tenant it accepts really is a tree: a DNS-label
// name, unique valid namespace names other than the root's, every parent
// the root or listed, every namespace reaching the root, cluster roles on
// the allow-list, registry entries without a scheme, tag or digest.
func FuzzValidateTenant(f *testing.F) {
	f.Add("payments", "payments-api,payments-api-staging,payments-batch", ",payments-api,", "view", "registry.example.com/team/", "pool", "a")
	f.Add("a", "b,c", "c,b", "admin", "nginx", "", "")
	f.Add("a", "a", "", "edit", "https://x", "k", "v!")
	f.Add("t", "x,y,z", "t,x,y", "cluster-admin", "registry.example.com/app:1", "", "")
	f.Add("T", "", "", "", " ", "", "")
	f.Fuzz(func(t *testing.T, name, namespaces, parents, role, registries, nodeKey, nodeValue string) {
		tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}}
		names := strings.Split(namespaces, ",")
		ps := strings.Split(parents, ",")
		if namespaces != "" {
			for i, n := range names {
				p := ""
				if i < len(ps) {
					p = ps[i]
				}
				tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1.TenantNamespace{Name: n, Parent: p})
			}
		}
		if role != "" {
			tn.Spec.RoleBindings = []tenancyv1.TenantRoleBinding{{ClusterRole: role, Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "devs"}}}}
		}
		if registries != "" || nodeKey != "" {
			tn.Spec.Policies = &tenancyv1.TenantPolicies{}
			if registries != "" {
				tn.Spec.Policies.AllowedRegistries = strings.Split(registries, ",")
			}
			if nodeKey != "" {
				tn.Spec.Policies.NodeSelector = map[string]string{nodeKey: nodeValue}
			}
		}
		w := world(nil)
		errs := Validate(tn, w)
		again := Validate(tn.DeepCopy(), w)
		if diff := cmp.Diff(errs.ToAggregate(), again.ToAggregate()); errs.ToAggregate() != nil && again.ToAggregate() != nil && errs.ToAggregate().Error() != again.ToAggregate().Error() {
			t.Fatalf("Validate is not deterministic: %s", diff)
		}
		for _, e := range errs {
			if !strings.HasPrefix(e.Field, "metadata.") && !strings.HasPrefix(e.Field, "spec.") {
				t.Fatalf("error %q names no field under metadata or spec", e.Error())
			}
		}
		if len(errs) > 0 {
			return
		}
		if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
			t.Fatalf("accepted tenant name %q: %v", name, msgs)
		}
		parentOf := map[string]string{}
		for _, n := range tn.Spec.Namespaces {
			if msgs := validation.IsDNS1123Label(n.Name); len(msgs) > 0 || n.Name == name {
				t.Fatalf("accepted namespace name %q", n.Name)
			}
			if _, dup := parentOf[n.Name]; dup {
				t.Fatalf("accepted duplicate namespace %q", n.Name)
			}
			p := n.Parent
			if p == "" {
				p = name
			}
			parentOf[n.Name] = p
		}
		for n := range parentOf {
			cur := n
			for steps := 0; cur != name; steps++ {
				next, ok := parentOf[cur]
				if !ok || steps > len(parentOf) {
					t.Fatalf("accepted namespace %q that does not reach the root %q (stuck at %q)", n, name, cur)
				}
				cur = next
			}
		}
		if role != "" && role != "admin" && role != "edit" && role != "view" {
			t.Fatalf("accepted cluster role %q", role)
		}
		if p := tn.Spec.Policies; p != nil {
			for _, r := range p.AllowedRegistries {
				r = strings.TrimSpace(r)
				if r == "" || strings.Contains(r, "://") || strings.ContainsAny(r, "@ \t") ||
					(strings.Contains(r, "/") && strings.LastIndex(r, ":") > strings.LastIndex(r, "/")) {
					t.Fatalf("accepted registry entry %q", r)
				}
			}
		}
	})
}
