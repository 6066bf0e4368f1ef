package grafana

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func acmeState() TenantState {
	return TenantState{
		Tenant:        "acme",
		DatasourceURL: "http://prom-proxy.canopy-system/tenants/acme",
		Teams: []TeamState{
			{Name: "acme", Namespaces: []string{"acme", "acme-web", "acme-db"}, Members: []string{"olivia"}},
			{Name: "web", Namespaces: []string{"acme-web"}, Members: []string{"alice", "bob"}, Viewers: []string{"victor", "alice"}},
		},
	}
}

func newProvisioner(f *fakeGrafana) *Provisioner {
	return &Provisioner{Client: f, BaseURL: "https://grafana.example.com/"}
}

// synced returns a fake on which acmeState has been synced once, and the
// tenant's org.
func synced(t *testing.T) (*fakeGrafana, *fakeOrg, Result) {
	t.Helper()
	f := newFake("olivia", "alice", "bob", "victor", "mallory")
	res, err := newProvisioner(f).Sync(context.Background(), acmeState())
	if err != nil {
		t.Fatalf("first Sync: %v", err)
	}
	o := f.orgByName("acme")
	if o == nil {
		t.Fatal("organization acme was not created")
	}
	f.resetWrites()
	return f, o, res
}

func user(f *fakeGrafana, login string) int64 { return f.users[login].ID }

func teamByName(t *testing.T, o *fakeOrg, name string) (int64, *fakeTeam) {
	t.Helper()
	for id, tm := range o.teams {
		if tm.name == name {
			return id, tm
		}
	}
	t.Fatalf("team %q not found", name)
	return 0, nil
}

func memberIDs(tm *fakeTeam) []int64 {
	var out []int64
	for id := range tm.members {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func TestSyncCreatesEverything(t *testing.T) {
	f := newFake("olivia", "alice", "bob", "victor")
	res, err := newProvisioner(f).Sync(context.Background(), acmeState())
	if err != nil {
		t.Fatal(err)
	}
	o := f.orgByName("acme")
	if o == nil {
		t.Fatal("organization acme was not created")
	}
	if res.Writes != len(f.writes) || res.Writes == 0 {
		t.Errorf("Result.Writes = %d, fake saw %d writes", res.Writes, len(f.writes))
	}
	orgID, _ := f.GetOrgByName(context.Background(), "acme")
	wantURL := fmt.Sprintf("https://grafana.example.com/dashboards/f/%s/acme?orgId=%d", FolderUID("acme", "acme"), orgID.ID)
	if res.DashboardURL != wantURL {
		t.Errorf("DashboardURL = %q, want %q", res.DashboardURL, wantURL)
	}
	if len(res.MissingUsers) != 0 {
		t.Errorf("MissingUsers = %v, want none", res.MissingUsers)
	}

	ds := o.datasources[DatasourceUID("acme")]
	if ds.URL != acmeState().DatasourceURL || ds.Type != "prometheus" {
		t.Errorf("datasource = %+v", ds)
	}

	webID, web := teamByName(t, o, "acme/web")
	if diff := cmp.Diff([]int64{user(f, "alice"), user(f, "bob")}, memberIDs(web)); diff != "" {
		t.Errorf("web members (-want +got):\n%s", diff)
	}
	_, own := teamByName(t, o, "acme/acme")
	if diff := cmp.Diff([]int64{user(f, "olivia")}, memberIDs(own)); diff != "" {
		t.Errorf("acme members (-want +got):\n%s", diff)
	}

	// alice is a member and a viewer: her Edit through the team is enough.
	wantPerms := sortPermissions([]Permission{
		{TeamID: webID, Permission: PermissionEdit},
		{Role: RoleAdmin, Permission: PermissionAdmin},
		{UserID: user(f, "victor"), Permission: PermissionView},
	})
	if diff := cmp.Diff(wantPerms, sortPermissions(o.perms[FolderUID("acme", "web")])); diff != "" {
		t.Errorf("web folder permissions (-want +got):\n%s", diff)
	}

	var dashUIDs []string
	for uid, d := range o.dashboards {
		dashUIDs = append(dashUIDs, uid)
		if !strings.HasPrefix(d.FolderUID, "canopy_f_acme_") {
			t.Errorf("dashboard %s in folder %q", uid, d.FolderUID)
		}
	}
	sort.Strings(dashUIDs)
	var want []string
	for _, team := range []string{"acme", "web"} {
		for _, tpl := range []string{"team-cost.json", "team-quota.json", "team-workloads.json"} {
			want = append(want, DashboardUID("acme", team, tpl))
		}
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, dashUIDs); diff != "" {
		t.Errorf("dashboards (-want +got):\n%s", diff)
	}
	web0 := o.dashboards[DashboardUID("acme", "web", "team-workloads.json")]
	if s := fmt.Sprint(web0.Model["panels"]); !strings.Contains(s, `namespace=~"acme-web"`) || strings.Contains(s, "acme-db") {
		t.Errorf("web dashboards are not confined to acme-web: %.300s", s)
	}

	orgUsers, _ := f.ListOrgUsers(context.Background(), orgID.ID)
	if len(orgUsers) != 5 { // admin plus four members and viewers
		t.Errorf("org users = %+v, want admin and 4 users", orgUsers)
	}
}

func TestSteadyStateMakesNoWrites(t *testing.T) {
	f, _, _ := synced(t)
	for i := 0; i < 2; i++ {
		res, err := newProvisioner(f).Sync(context.Background(), acmeState())
		if err != nil {
			t.Fatal(err)
		}
		if res.Writes != 0 || len(f.writes) != 0 {
			t.Fatalf("sync %d: %d writes: %v", i+2, res.Writes, f.writes)
		}
	}
}

func TestSpecChanges(t *testing.T) {
	f, o, _ := synced(t)
	st := acmeState()
	st.Teams[1].Members = []string{"alice"} // bob leaves
	st.Teams[1].Namespaces = []string{"acme-web", "acme-api"}
	res, err := newProvisioner(f).Sync(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	webID, _ := teamByName(t, o, "acme/web")
	orgID, _ := f.GetOrgByName(context.Background(), "acme")
	want := []string{
		fmt.Sprintf("RemoveOrgUser %d %d", orgID.ID, user(f, "bob")),
		fmt.Sprintf("RemoveTeamMember %d %d", webID, user(f, "bob")),
		"UpsertDashboard " + DashboardUID("acme", "web", "team-cost.json"),
		"UpsertDashboard " + DashboardUID("acme", "web", "team-quota.json"),
		"UpsertDashboard " + DashboardUID("acme", "web", "team-workloads.json"),
	}
	if diff := cmp.Diff(want, f.writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if res.Writes != len(want) {
		t.Errorf("Result.Writes = %d, want %d", res.Writes, len(want))
	}
	d := o.dashboards[DashboardUID("acme", "web", "team-quota.json")]
	if !strings.Contains(fmt.Sprint(d.Model["panels"]), `namespace=~"acme-api|acme-web"`) {
		t.Errorf("quota dashboard not re-rendered for the new namespaces")
	}

	// The web team leaves the tenant: its team and folder go.
	f.resetWrites()
	st.Teams = st.Teams[:1]
	if _, err := newProvisioner(f).Sync(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if _, ok := o.folders[FolderUID("acme", "web")]; ok {
		t.Error("web folder survived the team's removal")
	}
	for _, tm := range o.teams {
		if tm.name == "acme/web" {
			t.Error("web team survived its removal")
		}
	}
	for uid, d := range o.dashboards {
		if d.FolderUID == FolderUID("acme", "web") {
			t.Errorf("dashboard %s survived its folder", uid)
		}
	}
	if _, ok := o.folders[FolderUID("acme", "acme")]; !ok {
		t.Error("the tenant's own folder was deleted")
	}
}

func TestUnknownUsersAreReported(t *testing.T) {
	f := newFake("olivia", "alice")
	st := acmeState()
	res, err := newProvisioner(f).Sync(context.Background(), st)
	if err != nil {
		t.Fatalf("Sync must not fail on unknown users: %v", err)
	}
	if diff := cmp.Diff([]string{"bob", "victor"}, res.MissingUsers); diff != "" {
		t.Errorf("MissingUsers (-want +got):\n%s", diff)
	}
	o := f.orgByName("acme")
	_, web := teamByName(t, o, "acme/web")
	if diff := cmp.Diff([]int64{user(f, "alice")}, memberIDs(web)); diff != "" {
		t.Errorf("known members must still be added (-want +got):\n%s", diff)
	}
	if len(o.dashboards) != 6 {
		t.Errorf("got %d dashboards, want 6", len(o.dashboards))
	}
}

func TestOneTeamFailingDoesNotStopOthers(t *testing.T) {
	f := newFake("olivia", "alice", "bob", "victor")
	f.failFolder = FolderUID("acme", "acme")
	_, err := newProvisioner(f).Sync(context.Background(), acmeState())
	if err == nil || !strings.Contains(err.Error(), `team "acme"`) {
		t.Fatalf("err = %v, want the acme team's failure", err)
	}
	o := f.orgByName("acme")
	if _, ok := o.folders[FolderUID("acme", "web")]; !ok {
		t.Error("the web team was not provisioned after the acme team failed")
	}
}

func TestInvalidState(t *testing.T) {
	cases := map[string]func(*TenantState){
		"no tenant":        func(s *TenantState) { s.Tenant = "" },
		"no datasource":    func(s *TenantState) { s.DatasourceURL = "" },
		"duplicate team":   func(s *TenantState) { s.Teams[1].Name = "acme" },
		"team without ns":  func(s *TenantState) { s.Teams[1].Namespaces = nil },
		"slash in a name":  func(s *TenantState) { s.Teams[1].Name = "a/b" },
		"empty team name ": func(s *TenantState) { s.Teams[1].Name = "" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			st := acmeState()
			mutate(&st)
			if _, err := newProvisioner(f).Sync(context.Background(), st); err == nil {
				t.Error("Sync accepted an invalid state")
			}
			if len(f.writes) != 0 {
				t.Errorf("an invalid state caused writes: %v", f.writes)
			}
		})
	}
}

func TestTeardown(t *testing.T) {
	t.Run("Retain keeps everything", func(t *testing.T) {
		f, _, _ := synced(t)
		res, err := newProvisioner(f).Teardown(context.Background(), acmeState(), tenancyv1alpha1.DeletionRetain)
		if err != nil || res.Writes != 0 || f.orgByName("acme") == nil {
			t.Errorf("Retain: writes %v, err %v, org kept %v", f.writes, err, f.orgByName("acme") != nil)
		}
	})
	t.Run("Delete removes the organization", func(t *testing.T) {
		f, _, _ := synced(t)
		if _, err := newProvisioner(f).Teardown(context.Background(), acmeState(), tenancyv1alpha1.DeletionDelete); err != nil {
			t.Fatal(err)
		}
		if f.orgByName("acme") != nil {
			t.Error("organization survived teardown")
		}
		f.resetWrites()
		res, err := newProvisioner(f).Teardown(context.Background(), acmeState(), tenancyv1alpha1.DeletionDelete)
		if err != nil || res.Writes != 0 {
			t.Errorf("repeated teardown: writes %v, err %v", f.writes, err)
		}
	})
	t.Run("the main organization is never deleted", func(t *testing.T) {
		f := newFake()
		st := acmeState()
		st.OrgName = "Main Org."
		if _, err := newProvisioner(f).Teardown(context.Background(), st, tenancyv1alpha1.DeletionDelete); err == nil {
			t.Error("Teardown deleted the main organization")
		}
		if f.orgs[1] == nil {
			t.Error("main organization is gone")
		}
	})
}

func TestSharedOrganization(t *testing.T) {
	f := newFake("olivia", "alice", "bob", "victor", "mallory")
	p := &Provisioner{Client: f, BaseURL: "https://g", SharedOrgID: 1}
	other := TenantState{Tenant: "globex", DatasourceURL: "http://proxy/globex",
		Teams: []TeamState{{Name: "globex", Namespaces: []string{"globex"}, Members: []string{"mallory"}}}}
	for _, st := range []TenantState{acmeState(), other} {
		if _, err := p.Sync(context.Background(), st); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.orgs) != 1 {
		t.Fatalf("shared mode created organizations: %d", len(f.orgs))
	}
	f.resetWrites()
	if res, err := p.Sync(context.Background(), acmeState()); err != nil || res.Writes != 0 {
		t.Fatalf("steady state in a shared org: writes %v, err %v", f.writes, err)
	}
	if _, err := p.Teardown(context.Background(), acmeState(), tenancyv1alpha1.DeletionDelete); err != nil {
		t.Fatal(err)
	}
	o := f.orgs[1]
	var left []string
	for uid := range o.folders {
		left = append(left, uid)
	}
	for _, tm := range o.teams {
		left = append(left, tm.name)
	}
	for uid := range o.datasources {
		left = append(left, uid)
	}
	sort.Strings(left)
	want := []string{DatasourceUID("globex"), FolderUID("globex", "globex"), "globex/globex"}
	sort.Strings(want)
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("after acme's teardown (-want +got):\n%s", diff)
	}
	if _, ok := o.users[user(f, "mallory")]; !ok {
		t.Error("shared mode removed another tenant's user from the organization")
	}
}
