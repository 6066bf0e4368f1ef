package grafana

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
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

// synced returns an environment in which acmeState has been synced once,
// and the mark in its call log after that sync.
func synced(t *testing.T) (*testEnv, int) {
	t.Helper()
	e := newEnv(t, "olivia", "alice", "bob", "victor", "mallory")
	if _, err := e.p.Sync(context.Background(), acmeState()); err != nil {
		t.Fatalf("first Sync: %v", err)
	}
	if !e.hasOrg("acme") {
		t.Fatal("organization acme was not created")
	}
	return e, e.s.Mark()
}

func permissionsOf(f *grafanaapi.Folder) []Permission {
	var out []Permission
	for _, p := range f.Permissions {
		out = append(out, Permission{TeamID: p.TeamID, UserID: p.UserID, Role: p.Role, Permission: p.Permission})
	}
	return sortPermissions(out)
}

func TestSyncCreatesEverything(t *testing.T) {
	e := newEnv(t, "olivia", "alice", "bob", "victor")
	res, err := e.p.Sync(context.Background(), acmeState())
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != e.s.WriteCount() || res.Writes == 0 {
		t.Errorf("Result.Writes = %d, the double saw %d writes", res.Writes, e.s.WriteCount())
	}
	orgID := e.s.OrgID("acme")
	wantURL := fmt.Sprintf("https://grafana.example.com/dashboards/f/%s/acme?orgId=%d", FolderUID("acme", "acme"), orgID)
	if res.DashboardURL != wantURL {
		t.Errorf("DashboardURL = %q, want %q", res.DashboardURL, wantURL)
	}
	if len(res.MissingUsers) != 0 {
		t.Errorf("MissingUsers = %v, want none", res.MissingUsers)
	}
	if diff := cmp.Diff([]int64{e.user("alice"), e.user("bob")}, e.members("acme", "acme/web")); diff != "" {
		t.Errorf("web members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{e.user("olivia")}, e.members("acme", "acme/acme")); diff != "" {
		t.Errorf("acme members (-want +got):\n%s", diff)
	}
	webID, victor := e.teamID("acme", "acme/web"), e.user("victor")
	e.org("acme", func(o *grafanaapi.Org) {
		ds := o.Datasources[DatasourceUID("acme")]
		if ds == nil || ds.URL != acmeState().DatasourceURL || ds.Type != "prometheus" {
			t.Errorf("datasource = %+v", ds)
		}
		// alice is a member and a viewer: her Edit through the team is enough.
		wantPerms := sortPermissions([]Permission{
			{TeamID: webID, Permission: PermissionEdit},
			{Role: RoleAdmin, Permission: PermissionAdmin},
			{UserID: victor, Permission: PermissionView},
		})
		if diff := cmp.Diff(wantPerms, permissionsOf(o.Folders[FolderUID("acme", "web")])); diff != "" {
			t.Errorf("web folder permissions (-want +got):\n%s", diff)
		}
		var want []string
		for _, team := range []string{"acme", "web"} {
			for _, tpl := range []string{"team-cost.json", "team-quota.json", "team-workloads.json"} {
				want = append(want, DashboardUID("acme", team, tpl))
			}
		}
		sort.Strings(want)
		if diff := cmp.Diff(want, o.DashboardUIDs()); diff != "" {
			t.Errorf("dashboards (-want +got):\n%s", diff)
		}
		for uid, d := range o.Dashboards {
			if !strings.HasPrefix(d.FolderUID, "canopy_f_acme_") {
				t.Errorf("dashboard %s in folder %q", uid, d.FolderUID)
			}
		}
		web0 := o.Dashboards[DashboardUID("acme", "web", "team-workloads.json")]
		if s := fmt.Sprint(web0.Model["panels"]); !strings.Contains(s, `namespace=~"acme-web"`) || strings.Contains(s, "acme-db") {
			t.Errorf("web dashboards are not confined to acme-web: %.300s", s)
		}
		if len(o.Members) != 5 { // admin plus four members and viewers
			t.Errorf("org members = %+v, want admin and 4 users", o.Members)
		}
	})
}

func TestSteadyStateMakesNoWrites(t *testing.T) {
	e, mark := synced(t)
	for i := 0; i < 2; i++ {
		res, err := e.p.Sync(context.Background(), acmeState())
		if err != nil {
			t.Fatal(err)
		}
		if w := e.writesSince(mark); res.Writes != 0 || len(w) != 0 {
			t.Fatalf("sync %d: %d writes: %v", i+2, res.Writes, w)
		}
	}
}

func TestSpecChanges(t *testing.T) {
	e, mark := synced(t)
	st := acmeState()
	st.Teams[1].Members = []string{"alice"} // bob leaves
	st.Teams[1].Namespaces = []string{"acme-web", "acme-api"}
	res, err := e.p.Sync(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	orgID := e.s.OrgID("acme")
	// Leaving the organization takes bob out of its teams too, as in
	// Grafana, so the web team needs no write of its own.
	want := []string{
		fmt.Sprintf("DELETE /api/orgs/%d/users/%d", orgID, e.user("bob")),
		"POST /api/dashboards/db " + DashboardUID("acme", "web", "team-cost.json"),
		"POST /api/dashboards/db " + DashboardUID("acme", "web", "team-quota.json"),
		"POST /api/dashboards/db " + DashboardUID("acme", "web", "team-workloads.json"),
	}
	if diff := cmp.Diff(want, e.writesSince(mark)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if res.Writes != len(want) {
		t.Errorf("Result.Writes = %d, want %d", res.Writes, len(want))
	}
	if diff := cmp.Diff([]int64{e.user("alice")}, e.members("acme", "acme/web")); diff != "" {
		t.Errorf("web members after bob left (-want +got):\n%s", diff)
	}
	e.org("acme", func(o *grafanaapi.Org) {
		d := o.Dashboards[DashboardUID("acme", "web", "team-quota.json")]
		if !strings.Contains(fmt.Sprint(d.Model["panels"]), `namespace=~"acme-api|acme-web"`) {
			t.Errorf("quota dashboard not re-rendered for the new namespaces")
		}
	})

	// The web team leaves the tenant: its team and folder go.
	st.Teams = st.Teams[:1]
	if _, err := e.p.Sync(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	e.org("acme", func(o *grafanaapi.Org) {
		if o.Folders[FolderUID("acme", "web")] != nil {
			t.Error("web folder survived the team's removal")
		}
		if o.TeamByName("acme/web") != nil {
			t.Error("web team survived its removal")
		}
		for uid, d := range o.Dashboards {
			if d.FolderUID == FolderUID("acme", "web") {
				t.Errorf("dashboard %s survived its folder", uid)
			}
		}
		if o.Folders[FolderUID("acme", "acme")] == nil {
			t.Error("the tenant's own folder was deleted")
		}
	})
}

func TestUnknownUsersAreReported(t *testing.T) {
	e := newEnv(t, "olivia", "alice")
	res, err := e.p.Sync(context.Background(), acmeState())
	if err != nil {
		t.Fatalf("Sync must not fail on unknown users: %v", err)
	}
	if diff := cmp.Diff([]string{"bob", "victor"}, res.MissingUsers); diff != "" {
		t.Errorf("MissingUsers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{e.user("alice")}, e.members("acme", "acme/web")); diff != "" {
		t.Errorf("known members must still be added (-want +got):\n%s", diff)
	}
	e.org("acme", func(o *grafanaapi.Org) {
		if len(o.Dashboards) != 6 {
			t.Errorf("got %d dashboards, want 6", len(o.Dashboards))
		}
	})
}

func TestOneTeamFailingDoesNotStopOthers(t *testing.T) {
	e := newEnv(t, "olivia", "alice", "bob", "victor")
	broken := "/api/folders/" + FolderUID("acme", "acme")
	e.s.FailWhen(func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == broken })
	_, err := e.p.Sync(context.Background(), acmeState())
	if err == nil || !strings.Contains(err.Error(), `team "acme"`) {
		t.Fatalf("err = %v, want the acme team's failure", err)
	}
	e.org("acme", func(o *grafanaapi.Org) {
		if o.Folders[FolderUID("acme", "web")] == nil {
			t.Error("the web team was not provisioned after the acme team failed")
		}
	})
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
			e := newEnv(t)
			st := acmeState()
			mutate(&st)
			if _, err := e.p.Sync(context.Background(), st); err == nil {
				t.Error("Sync accepted an invalid state")
			}
			if w := e.writesSince(0); len(w) != 0 {
				t.Errorf("an invalid state caused writes: %v", w)
			}
		})
	}
}

func TestTeardown(t *testing.T) {
	t.Run("Retain keeps everything", func(t *testing.T) {
		e, mark := synced(t)
		res, err := e.p.Teardown(context.Background(), acmeState(), tenancyv1alpha1.DeletionRetain)
		if w := e.writesSince(mark); err != nil || res.Writes != 0 || len(w) != 0 || !e.hasOrg("acme") {
			t.Errorf("Retain: writes %v, err %v, org kept %v", w, err, e.hasOrg("acme"))
		}
	})
	t.Run("Delete removes the organization", func(t *testing.T) {
		e, _ := synced(t)
		if _, err := e.p.Teardown(context.Background(), acmeState(), tenancyv1alpha1.DeletionDelete); err != nil {
			t.Fatal(err)
		}
		if e.hasOrg("acme") {
			t.Error("organization survived teardown")
		}
		mark := e.s.Mark()
		res, err := e.p.Teardown(context.Background(), acmeState(), tenancyv1alpha1.DeletionDelete)
		if w := e.writesSince(mark); err != nil || res.Writes != 0 || len(w) != 0 {
			t.Errorf("repeated teardown: writes %v, err %v", w, err)
		}
	})
	t.Run("the main organization is never deleted", func(t *testing.T) {
		e := newEnv(t)
		st := acmeState()
		st.OrgName = "Main Org."
		if _, err := e.p.Teardown(context.Background(), st, tenancyv1alpha1.DeletionDelete); err == nil {
			t.Error("Teardown deleted the main organization")
		}
		if !e.hasOrg("Main Org.") || len(e.writesSince(0)) != 0 {
			t.Errorf("main organization touched: writes %v", e.writesSince(0))
		}
	})
}

func TestSharedOrganization(t *testing.T) {
	e := newEnv(t, "olivia", "alice", "bob", "victor", "mallory")
	e.p.SharedOrgID = grafanaapi.MainOrgID
	other := TenantState{Tenant: "globex", DatasourceURL: "http://proxy/globex",
		Teams: []TeamState{{Name: "globex", Namespaces: []string{"globex"}, Members: []string{"mallory"}}}}
	for _, st := range []TenantState{acmeState(), other} {
		if _, err := e.p.Sync(context.Background(), st); err != nil {
			t.Fatal(err)
		}
	}
	var orgs []string
	e.s.View(func(st *grafanaapi.State) { orgs = st.OrgNames() })
	if len(orgs) != 1 {
		t.Fatalf("shared mode created organizations: %v", orgs)
	}
	mark := e.s.Mark()
	if res, err := e.p.Sync(context.Background(), acmeState()); err != nil || res.Writes != 0 {
		t.Fatalf("steady state in a shared org: writes %v, err %v", e.writesSince(mark), err)
	}
	if _, err := e.p.Teardown(context.Background(), acmeState(), tenancyv1alpha1.DeletionDelete); err != nil {
		t.Fatal(err)
	}
	mallory := e.user("mallory")
	e.org("Main Org.", func(o *grafanaapi.Org) {
		left := append(o.FolderUIDs(), o.DatasourceUIDs()...)
		for _, tm := range o.Teams {
			left = append(left, tm.Name)
		}
		sort.Strings(left)
		want := []string{DatasourceUID("globex"), FolderUID("globex", "globex"), "globex/globex"}
		sort.Strings(want)
		if diff := cmp.Diff(want, left); diff != "" {
			t.Errorf("after acme's teardown (-want +got):\n%s", diff)
		}
		if o.Members[mallory] == "" {
			t.Error("shared mode removed another tenant's user from the organization")
		}
	})
}
