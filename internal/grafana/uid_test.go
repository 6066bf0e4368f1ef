package grafana

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestUID(t *testing.T) {
	long := strings.Repeat("a", 63)
	cases := []struct {
		name  string
		parts []string
		want  string
	}{
		{"short names are kept", []string{"canopy", "f", "acme", "web"}, "canopy_f_acme_web"},
		{"long names are hashed", []string{"canopy", "f", long, long}, "canopy_f_aaaaaaaaaaaaaa-253884155b364f9c"},
		{"invalid characters are hashed", []string{"canopy", "a/b"}, "canopy_a_b-9038ffcea1e117f9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := UID(tc.parts...)
			if !ValidUID(got) {
				t.Errorf("UID(%q) = %q is not a valid Grafana UID", tc.parts, got)
			}
			if got != tc.want {
				t.Errorf("UID(%q) = %q, want %q", tc.parts, got, tc.want)
			}
			if again := UID(tc.parts...); again != got {
				t.Errorf("UID is not stable: %q then %q", got, again)
			}
		})
	}
}

func TestUIDDistinguishesNames(t *testing.T) {
	long := strings.Repeat("x", 60)
	pairs := [][2]string{
		{FolderUID("a-b", "c"), FolderUID("a", "b-c")},
		{FolderUID(long, "team1"), FolderUID(long, "team2")},
		{FolderUID("acme", "web"), DashboardUID("acme", "web", "")},
		{UID("canopy", "a/b"), UID("canopy", "a_b")},
	}
	for _, p := range pairs {
		if p[0] == p[1] {
			t.Errorf("two names share the UID %q", p[0])
		}
		for _, uid := range p {
			if !ValidUID(uid) {
				t.Errorf("invalid UID %q", uid)
			}
		}
	}
}

func TestValidUID(t *testing.T) {
	for uid, want := range map[string]bool{
		"abc-DEF_123":           true,
		"":                      false,
		strings.Repeat("a", 40): true,
		strings.Repeat("a", 41): false,
		"has space":             false,
		"has/slash":             false,
	} {
		if got := ValidUID(uid); got != want {
			t.Errorf("ValidUID(%q) = %v, want %v", uid, got, want)
		}
	}
}

func TestNamespaceRegex(t *testing.T) {
	got := NamespaceRegex([]string{"b", "a", "b", "", "c.d"})
	if want := `a|b|c\.d`; got != want {
		t.Errorf("NamespaceRegex = %q, want %q", got, want)
	}
}

func TestFromTenant(t *testing.T) {
	tree := map[string][]string{
		"acme":     {"acme", "acme-web", "acme-db"},
		"acme-web": {"acme-web"},
	}
	tenant := &tenancyv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme"},
		Spec: tenancyv1alpha1.TenantSpec{
			Owners: []rbacv1.Subject{
				{Kind: rbacv1.UserKind, Name: "olivia@example.com"},
				{Kind: rbacv1.GroupKind, Name: "platform"},
			},
			Teams: []tenancyv1alpha1.Team{
				{Name: "web", Namespace: "acme-web", Grafana: &tenancyv1alpha1.GrafanaMembers{
					Members: []string{"alice"}, Viewers: []string{"victor"}}},
				{Name: "db", Namespace: "acme-db"},
			},
		},
	}
	got := FromTenant(tenant, func(root string) []string { return tree[root] }, "http://proxy/acme")
	want := TenantState{
		Tenant:        "acme",
		DatasourceURL: "http://proxy/acme",
		Teams: []TeamState{
			{Name: "acme", Namespaces: []string{"acme", "acme-web", "acme-db"}, Members: []string{"olivia@example.com"}},
			{Name: "web", Namespaces: []string{"acme-web"}, Members: []string{"alice"}, Viewers: []string{"victor"}},
			{Name: "db"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromTenant (-want +got):\n%s", diff)
	}
}
