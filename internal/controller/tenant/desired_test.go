package tenant

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/forest"
)

func payments() *tenancyv1.Tenant {
	return &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Generation: 3},
		Spec: tenancyv1.TenantSpec{
			Owners: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "payments-leads"}},
			Namespaces: []tenancyv1.TenantNamespace{
				{Name: "payments-api"}, {Name: "payments-api-staging", Parent: "payments-api"}, {Name: "payments-batch"},
			},
			RoleBindings: []tenancyv1.TenantRoleBinding{{ClusterRole: "view", Subjects: []rbacv1.Subject{{Kind: "Group", Name: "payments-devs"}}}},
			Quota:        &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("40")}},
			NamespaceDefaults: &tenancyv1.NamespaceDefaults{
				Labels:      map[string]string{"team": "payments", tenancyv1.LabelTenant: "spoofed"},
				Annotations: map[string]string{"owner": "leads"},
				LimitRange: &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
					Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				}}},
			},
			Policies: &tenancyv1.TenantPolicies{
				NetworkIsolation: true, PodSecurity: "restricted",
				AllowedRegistries: []string{"registry.example.com/payments/"}, AllowedStorageClasses: []string{"standard"},
				AllowedIngressClasses: []string{"internal"}, NodeSelector: map[string]string{"pool": "payments"},
			},
		},
	}
}

func TestNamespaceMeta(t *testing.T) {
	bare := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}
	tests := []struct {
		name            string
		tenant          *tenancyv1.Tenant
		wantL, wantAnno map[string]string
	}{
		{"bare tenant gets only its label", bare, map[string]string{tenancyv1.LabelTenant: "bare"}, map[string]string{}},
		{"defaults, pod security, and the tenant label wins", payments(), map[string]string{
			tenancyv1.LabelTenant: "payments", "team": "payments",
			LabelPodSecurityEnforce: "restricted", LabelPodSecurityEnforceVersion: "latest",
		}, map[string]string{"owner": "leads"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, a := NamespaceMeta(tc.tenant)
			if d := cmp.Diff(tc.wantL, l); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantAnno, a); d != "" {
				t.Errorf("annotations (-want +got):\n%s", d)
			}
		})
	}
}

func TestAnchors(t *testing.T) {
	var got []types.NamespacedName
	for _, a := range Anchors(payments()) {
		got = append(got, types.NamespacedName{Namespace: a.Namespace, Name: a.Name})
		if a.Labels[LabelGenerated] != "payments" {
			t.Errorf("anchor %s lacks the generated label: %v", a.Name, a.Labels)
		}
		if len(a.OwnerReferences) > 0 {
			t.Errorf("anchor %s has ownerReferences", a.Name)
		}
	}
	want := []types.NamespacedName{
		{Namespace: "payments", Name: "payments-api"},
		{Namespace: "payments-api", Name: "payments-api-staging"},
		{Namespace: "payments", Name: "payments-batch"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("anchors (-want +got):\n%s", d)
	}
}

func TestRoleBindings(t *testing.T) {
	type rb struct{ Name, NS, Role, Subject string }
	tests := []struct {
		name   string
		mutate func(*tenancyv1.Tenant)
		want   []rb
	}{
		{"owners and extra bindings", func(*tenancyv1.Tenant) {}, []rb{
			{OwnersBindingName, "payments", "admin", "payments-leads"},
			{"canopy-tenant-binding-0", "payments", "view", "payments-devs"},
		}},
		{"no owners", func(t *tenancyv1.Tenant) { t.Spec.Owners = nil }, []rb{
			{"canopy-tenant-binding-0", "payments", "view", "payments-devs"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := payments()
			tc.mutate(tn)
			var got []rb
			for _, b := range RoleBindings(tn) {
				got = append(got, rb{b.Name, b.Namespace, b.RoleRef.Name, b.Subjects[0].Name})
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("bindings (-want +got):\n%s", d)
			}
		})
	}
}

func TestOptionalObjects(t *testing.T) {
	full, bare := payments(), &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"quota present", Quota(full) != nil, true},
		{"quota absent", Quota(bare) == nil, true},
		{"limit range present", LimitRange(full, "payments-api") != nil, true},
		{"limit range absent", LimitRange(bare, "bare") == nil, true},
		{"network policy present", NetworkPolicy(full, "payments-api") != nil, true},
		{"network policy absent", NetworkPolicy(bare, "bare") == nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
	q := Quota(full)
	if cpu := q.Spec.Hard[corev1.ResourceRequestsCPU]; q.Name != QuotaName || q.Namespace != "payments" || cpu.Cmp(resource.MustParse("40")) != 0 {
		t.Errorf("quota = %+v", q)
	}
	np := NetworkPolicy(full, "payments-api")
	if got := np.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels; !cmp.Equal(got, map[string]string{tenancyv1.LabelTenant: "payments"}) {
		t.Errorf("network policy allows from %v", got)
	}
	cr, crb := OwnerAccess(full)
	if d := cmp.Diff([]string{"payments"}, cr.Rules[0].ResourceNames); d != "" {
		t.Errorf("owner ClusterRole resourceNames (-want +got):\n%s", d)
	}
	if crb.RoleRef.Name != cr.Name || crb.Subjects[0].Name != "payments-leads" {
		t.Errorf("owner binding = %+v", crb)
	}
	if cr, crb := OwnerAccess(bare); cr != nil || crb != nil {
		t.Errorf("OwnerAccess without owners = %v, %v", cr, crb)
	}
}

func TestAdmissionPolicies(t *testing.T) {
	full := payments()
	vap, vb := ValidatingPolicy(full)
	if vap == nil || vb == nil {
		t.Fatal("no validating policy for a tenant with guardrails")
	}
	var exprs []string
	for _, v := range vap.Spec.Validations {
		exprs = append(exprs, v.Expression+" | "+v.Message+v.MessageExpression)
	}
	all := strings.Join(exprs, "\n")
	for _, want := range []string{`"registry.example.com/payments/"`, `["standard"]`, `["internal"]`, `s.nodeSelector["pool"] == "payments"`, "nodeName", "allowed: registry.example.com/payments/",
		"object.spec.volumeClaimTemplates.all(c, (has(c.spec.storageClassName) && c.spec.storageClassName in [\"standard\"]))"} {
		if !strings.Contains(all, want) {
			t.Errorf("validations lack %q:\n%s", want, all)
		}
	}
	if d := cmp.Diff(map[string]string{tenancyv1.LabelTenant: "payments"}, vb.Spec.MatchResources.NamespaceSelector.MatchLabels); d != "" {
		t.Errorf("binding selector (-want +got):\n%s", d)
	}
	m, mb := MutatingPolicy(full)
	if m == nil || mb == nil {
		t.Fatal("no mutating policy with a node selector")
	}
	if got := m.Spec.Mutations[0].JSONPatch.Expression; got != `has(object.spec.nodeSelector) ? [JSONPatch{op: "add", path: "/spec/nodeSelector/pool", value: "payments"}] : [JSONPatch{op: "add", path: "/spec/nodeSelector", value: {"pool": "payments"}}]` {
		t.Errorf("mutation = %s", got)
	}
	bare := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "bare"}, Spec: tenancyv1.TenantSpec{Policies: &tenancyv1.TenantPolicies{NetworkIsolation: true}}}
	if v, b := ValidatingPolicy(bare); v != nil || b != nil {
		t.Errorf("validating policy without guardrails = %v", v)
	}
	if m, b := MutatingPolicy(bare); m != nil || b != nil {
		t.Errorf("mutating policy without node selector = %v", m)
	}
}

func TestPlanAnchors(t *testing.T) {
	existing := map[string]bool{"payments": true, "payments-api": true}
	stale := types.NamespacedName{Namespace: "payments", Name: "payments-old"}
	p := PlanAnchors(payments(), func(n string) bool { return existing[n] }, []types.NamespacedName{
		{Namespace: "payments", Name: "payments-api"}, stale,
	})
	want := AnchorPlan{
		Create: []types.NamespacedName{
			{Namespace: "payments", Name: "payments-api"},
			{Namespace: "payments-api", Name: "payments-api-staging"},
			{Namespace: "payments", Name: "payments-batch"},
		},
		Missing: []string{"payments-api-staging", "payments-batch"},
		Stale:   []types.NamespacedName{stale},
	}
	if d := cmp.Diff(want, p); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestTree(t *testing.T) {
	f := forest.New()
	f.Lock()
	defer f.Unlock()
	for _, n := range []string{"payments", "payments-api", "payments-api-staging", "team-made", "other"} {
		f.Get(n).SetExists(true)
	}
	f.Get("payments-api").SetParent(f.Get("payments"))
	f.Get("payments-api-staging").SetParent(f.Get("payments-api"))
	f.Get("team-made").SetParent(f.Get("payments-api"))
	f.Get("team-made").SetIsSub(true)
	f.Get("ghost").SetParent(f.Get("payments-api-staging")) // deleted, not yet forgotten
	f.Get("payments-api").SetAnchors([]string{"team-made"})

	tree := ReadTree(f, "payments")
	want := []TreeNode{
		{Name: "payments", Children: 1},
		{Name: "payments-api", Parent: "payments", Children: 2},
		{Name: "payments-api-staging", Parent: "payments-api", Children: 1},
		{Name: "team-made", Parent: "payments-api", IsSub: true, Anchored: true},
	}
	if d := cmp.Diff(want, tree); d != "" {
		t.Errorf("tree (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"payments-api", "payments-api-staging", "team-made"}, Subtree(tree, "payments-api")); d != "" {
		t.Errorf("subtree (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"team-made"}, Names(Leaves(tree, "payments"))); d != "" {
		t.Errorf("leaves (-want +got):\n%s", d)
	}
	if got := Leaves(tree[:1], "payments"); got != nil {
		t.Errorf("leaves of a lone root = %v", got)
	}
	if got := ReadTree(f, "missing"); got != nil {
		t.Errorf("tree of a missing root = %v", got)
	}
}
