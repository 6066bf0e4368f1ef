package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

var members = []Member{
	{Name: "eu-1", Labels: map[string]string{"region": "eu"}},
	{Name: "eu-2", Labels: map[string]string{"region": "eu", "tier": "gold"}},
	{Name: "us-1", Labels: map[string]string{"region": "us"}},
}

func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    *tenancyv1.TenantPlacement
		want []string
	}{
		{"none", nil, nil},
		{"by label", &tenancyv1.TenantPlacement{ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}}}, []string{"eu-1", "eu-2"}},
		{"by name", &tenancyv1.TenantPlacement{Clusters: []string{"us-1"}}, []string{"us-1"}},
		{"union of both", &tenancyv1.TenantPlacement{Clusters: []string{"us-1"}, ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}}, []string{"eu-2", "us-1"}},
		{"unregistered name kept", &tenancyv1.TenantPlacement{Clusters: []string{"gone"}}, []string{"gone"}},
		{"empty selector selects all", &tenancyv1.TenantPlacement{ClusterSelector: &metav1.LabelSelector{}}, []string{"eu-1", "eu-2", "us-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(tc.p, members)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b []string) bool { return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b)) })); diff != "" {
				t.Errorf("Select (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateSplit(t *testing.T) {
	split := func(quota corev1.ResourceList, shares ...tenancyv1.ClusterQuota) *tenancyv1.TenantSpec {
		s := &tenancyv1.TenantSpec{Placement: &tenancyv1.TenantPlacement{Quota: shares}}
		if quota != nil {
			s.Quota = &tenancyv1.TenantQuota{Hard: quota}
		}
		return s
	}
	for _, tc := range []struct {
		name string
		spec *tenancyv1.TenantSpec
		errs int
	}{
		{"no placement", &tenancyv1.TenantSpec{}, 0},
		{"fits exactly", split(rl("pods", "10", "cpu", "4"), tenancyv1.ClusterQuota{Cluster: "a", Hard: rl("pods", "4", "cpu", "1500m")}, tenancyv1.ClusterQuota{Cluster: "b", Hard: rl("pods", "6", "cpu", "2500m")}), 0},
		{"over by one pod", split(rl("pods", "10"), tenancyv1.ClusterQuota{Cluster: "a", Hard: rl("pods", "4")}, tenancyv1.ClusterQuota{Cluster: "b", Hard: rl("pods", "7")}), 1},
		{"over in milli-units", split(rl("cpu", "1"), tenancyv1.ClusterQuota{Cluster: "a", Hard: rl("cpu", "500m")}, tenancyv1.ClusterQuota{Cluster: "b", Hard: rl("cpu", "501m")}), 1},
		{"resource not in tenant quota", split(rl("pods", "10"), tenancyv1.ClusterQuota{Cluster: "a", Hard: rl("pods", "1", "secrets", "3")}), 1},
		{"split without tenant quota", split(nil, tenancyv1.ClusterQuota{Cluster: "a", Hard: rl("pods", "1")}), 1},
		{"bad selector", &tenancyv1.TenantSpec{Placement: &tenancyv1.TenantPlacement{ClusterSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidateSplit(tc.spec); len(got) != tc.errs {
				t.Errorf("ValidateSplit = %v, want %d error(s)", got, tc.errs)
			}
		})
	}
}

func TestMemberTenant(t *testing.T) {
	hub := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "x"}},
		Spec: tenancyv1.TenantSpec{
			Namespaces:     []tenancyv1.TenantNamespace{{Name: "shop-dev"}},
			Quota:          &tenancyv1.TenantQuota{Hard: rl("pods", "10")},
			DeletionPolicy: tenancyv1.DeletionDelete, Force: true,
			Placement: &tenancyv1.TenantPlacement{Clusters: []string{"a", "b"},
				Quota: []tenancyv1.ClusterQuota{{Cluster: "a", Hard: rl("pods", "4")}}},
		},
	}
	m, ok := MemberTenant(hub, "a")
	if !ok {
		t.Fatal("cluster a has a share but was not written")
	}
	want := tenancyv1.TenantSpec{
		Namespaces:     []tenancyv1.TenantNamespace{{Name: "shop-dev"}},
		Quota:          &tenancyv1.TenantQuota{Hard: rl("pods", "4")},
		DeletionPolicy: tenancyv1.DeletionDelete,
	}
	if diff := cmp.Diff(want, m.Spec); diff != "" {
		t.Errorf("member spec (-want +got):\n%s", diff)
	}
	if m.Labels[tenancyv1.LabelManagedBy] != tenancyv1.ManagedByHub {
		t.Errorf("member Tenant not labelled managed by the hub: %v", m.Labels)
	}
	if _, ok := MemberTenant(hub, "b"); ok {
		t.Error("cluster b has no share of a limited tenant but would be written")
	}
	hub.Spec.Quota, hub.Spec.Placement.Quota = nil, nil
	if m, ok := MemberTenant(hub, "b"); !ok || m.Spec.Quota != nil {
		t.Errorf("a tenant without quota places everywhere without one: ok=%v quota=%v", ok, m.Spec.Quota)
	}
}

func TestDecide(t *testing.T) {
	hub := &tenancyv1.Tenant{Spec: tenancyv1.TenantSpec{
		Quota: &tenancyv1.TenantQuota{Hard: rl("pods", "10")},
		Placement: &tenancyv1.TenantPlacement{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}},
			Quota:           []tenancyv1.ClusterQuota{{Cluster: "eu-1", Hard: rl("pods", "5")}},
		},
	}}
	plan, err := Decide(hub, members, []string{"eu-1", "us-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{Place: []string{"eu-1"}, Unallocated: []string{"eu-2"}, Remove: []string{"us-1"}}
	if diff := cmp.Diff(want, plan); diff != "" {
		t.Errorf("Decide (-want +got):\n%s", diff)
	}
	now := metav1.Now()
	hub.DeletionTimestamp = &now
	plan, _ = Decide(hub, members, []string{"eu-1"})
	if diff := cmp.Diff(Plan{Remove: []string{"eu-1"}}, plan); diff != "" {
		t.Errorf("Decide on deletion (-want +got):\n%s", diff)
	}
}
