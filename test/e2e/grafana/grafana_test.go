package grafana

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	gfapi "github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/internal/promproxy"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// TestGrafana runs the checks in order on one pair of Tenants: what each
// team sees, what data each tenant reads, that every panel has data, that
// drift is reverted, that a steady state writes nothing, and, last, that
// deletion follows the deletion policy.
func TestGrafana(t *testing.T) {
	created := createTenants(t)
	for name, tn := range created {
		if !strings.HasPrefix(tn.Status.DashboardURL, s.grafana.URL+"/dashboards/f/"+gfapi.FolderUID(name, name)+"/") {
			t.Errorf("tenant %s: dashboardURL %q does not open its folder on %s", name, tn.Status.DashboardURL, s.grafana.URL)
		}
	}
	t.Run("each team sees only its folder", testFolders)
	t.Run("folder permissions round-trip, Admin role included", testPermissions)
	t.Run("a tenant reads only its own series", testIsolation)
	t.Run("the proxy refuses other tenants' tokens", testProxyTokens)
	t.Run("every panel's query returns data", testPanels)
	t.Run("drift made by hand is reverted", testDrift)
	t.Run("a steady state makes zero writes", testSteadyState)
	t.Run("deletion follows the deletion policy", testDeletion)
}

func testFolders(t *testing.T) {
	ctx := context.Background()
	acme, globex := orgID(t, "acme"), orgID(t, "globex")
	cases := []struct {
		user        string
		org         int64
		wantFolders []string
	}{
		{"olivia", acme, []string{"acme"}},
		{"alice", acme, []string{"acme / web"}},
		{"bob", globex, []string{"globex / api"}},
	}
	for _, tc := range cases {
		folders, err := search(ctx, tc.user, tc.org, "type=dash-folder")
		if err != nil {
			t.Fatalf("%s searching folders: %v", tc.user, err)
		}
		var titles []string
		for _, f := range folders {
			titles = append(titles, f.Title)
		}
		if !slices.Equal(titles, tc.wantFolders) {
			t.Errorf("%s sees folders %q, want %q", tc.user, titles, tc.wantFolders)
		}
		dashboards, err := search(ctx, tc.user, tc.org, "type=dash-db")
		if err != nil {
			t.Fatalf("%s searching dashboards: %v", tc.user, err)
		}
		if len(dashboards) != 3 {
			t.Errorf("%s sees %d dashboards, want the 3 of its folder: %+v", tc.user, len(dashboards), dashboards)
		}
		for _, d := range dashboards {
			if d.FolderUID != folders[0].UID {
				t.Errorf("%s sees dashboard %q outside its folder", tc.user, d.Title)
			}
		}
	}
	// A member of one tenant is not a member of the other's organization:
	// asking for it is refused or answered from an organization the user
	// belongs to, never with the other tenant's dashboards.
	for _, tc := range []struct {
		user string
		org  int64
	}{{"alice", globex}, {"bob", acme}} {
		hits, err := search(ctx, tc.user, tc.org, "")
		code := grafanaapi.HTTPStatus(err)
		switch {
		case err != nil && code != http.StatusUnauthorized && code != http.StatusForbidden:
			t.Errorf("%s searching organization %d: %v", tc.user, tc.org, err)
		case len(hits) != 0:
			t.Errorf("%s sees %+v in organization %d, of which it is no member", tc.user, hits, tc.org)
		}
	}
}

func testPermissions(t *testing.T) {
	ctx := context.Background()
	org := orgID(t, "acme")
	var teams struct {
		Teams []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"teams"`
	}
	if err := grafanaapi.Do(ctx, s.grafana.URL, s.grafana.AdminUser, s.grafana.AdminPassword, org, http.MethodGet,
		"/api/teams/search?query=acme%2Fweb", nil, &teams); err != nil || len(teams.Teams) != 1 {
		t.Fatalf("finding team acme/web: %v %+v", err, teams)
	}
	perms, err := folderPermissions(ctx, org, gfapi.FolderUID("acme", "web"))
	if err != nil {
		t.Fatal(err)
	}
	var own []permission
	for _, p := range perms {
		if !p.Inherited {
			own = append(own, permission{TeamID: p.TeamID, UserID: p.UserID, Role: p.Role, Permission: p.Permission})
		}
	}
	sort.Slice(own, func(i, j int) bool { return own[i].Role < own[j].Role })
	want := []permission{
		{TeamID: teams.Teams[0].ID, Permission: gfapi.PermissionEdit},
		{Role: "Admin", Permission: gfapi.PermissionAdmin},
	}
	if !slices.Equal(own, want) {
		t.Errorf("permissions of acme/web's folder = %+v, want %+v", own, want)
	}
}

func testIsolation(t *testing.T) {
	ctx := context.Background()
	acme, globex := orgID(t, "acme"), orgID(t, "globex")
	all := target{Expr: `sum by (namespace) (container_memory_working_set_bytes)`, Range: true}
	for _, tc := range []struct {
		user, tenant string
		org          int64
	}{{"alice", "acme", acme}, {"olivia", "acme", acme}, {"bob", "globex", globex}} {
		res, err := query(ctx, tc.user, tc.org, datasourceUID(tc.tenant), all)
		if err != nil || res.Error != "" {
			t.Fatalf("%s querying its datasource: %v %s", tc.user, err, res.Error)
		}
		var seen []string
		for _, l := range res.Series {
			seen = append(seen, l["namespace"])
		}
		sort.Strings(seen)
		if want := tenants[tc.tenant].namespaces(); !slices.Equal(seen, want) {
			t.Errorf("%s reads namespaces %q through Grafana, want exactly %q", tc.user, seen, want)
		}
	}
	// Asking for the other tenant's namespace by name returns nothing,
	// while the same query for one's own returns data.
	foreign, err := query(ctx, "alice", acme, datasourceUID("acme"), target{Expr: `container_memory_working_set_bytes{namespace="globex-api"}`, Range: true})
	if err != nil {
		t.Fatal(err)
	}
	if foreign.Values != 0 || len(foreign.Series) != 0 {
		t.Errorf("alice read globex's series through acme's datasource: %+v", foreign)
	}
	own, err := query(ctx, "alice", acme, datasourceUID("acme"), target{Expr: `container_memory_working_set_bytes{namespace="acme-web"}`, Range: true})
	if err != nil || own.Values == 0 {
		t.Errorf("alice cannot read acme-web's series: %v %+v", err, own)
	}
	// Canopy's tenant-labelled metrics are confined to the tenant too.
	cost, err := query(ctx, "alice", acme, datasourceUID("acme"), target{Expr: `canopy_tenant_cost{tenant="globex"}`, Range: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range cost.Series {
		if l["tenant"] != "acme" {
			t.Errorf("alice read another tenant's cost: %v", l)
		}
	}
	// The other tenant's datasource does not exist in acme's organization,
	// and alice cannot enter globex's.
	if _, err := query(ctx, "alice", acme, datasourceUID("globex"), all); err == nil {
		t.Error("alice queried globex's datasource from acme's organization")
	}
	if _, err := query(ctx, "alice", globex, datasourceUID("globex"), all); err == nil {
		t.Error("alice queried globex's datasource in globex's organization")
	}
	// The token is in secureJsonData, which not even the server admin reads back.
	var raw map[string]any
	if err := grafanaapi.Do(ctx, s.grafana.URL, s.grafana.AdminUser, s.grafana.AdminPassword, acme, http.MethodGet,
		"/api/datasources/uid/"+datasourceUID("acme"), nil, &raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fmt.Sprint(raw), promproxy.Token(s.key, "acme", tenantUID(t, "acme"))) {
		t.Errorf("the datasource's token is readable through the API: %v", raw)
	}
	if fields, _ := raw["secureJsonFields"].(map[string]any); fields["httpHeaderValue1"] != true {
		t.Errorf("datasource secureJsonFields = %v, want httpHeaderValue1 set", raw["secureJsonFields"])
	}
}

// tenantUID is the live Tenant's UID, which its proxy token is bound to.
func tenantUID(t *testing.T, name string) types.UID {
	t.Helper()
	tn := &tenancyv1.Tenant{}
	if err := s.env.Client.Get(context.Background(), client.ObjectKey{Name: name}, tn); err != nil {
		t.Fatal(err)
	}
	return tn.UID
}

func testProxyTokens(t *testing.T) {
	ctx := context.Background()
	get := func(tenant, token string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.proxyURL+"/tenants/"+tenant+"/api/v1/query?query=up", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("globex", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code := get("globex", promproxy.Token(s.key, "acme", tenantUID(t, "acme"))); code != http.StatusForbidden {
		t.Errorf("acme's token for globex: %d, want 403", code)
	}
	if code := get("globex", promproxy.Token(s.key, "globex", tenantUID(t, "globex"))); code != http.StatusOK {
		t.Errorf("globex's own token: %d, want 200", code)
	}
}

func testPanels(t *testing.T) {
	ctx := context.Background()
	teams := []struct{ tenant, team, user string }{
		{"acme", "acme", "olivia"},
		{"acme", "web", "alice"},
		{"globex", "api", "bob"},
	}
	for _, tm := range teams {
		org := orgID(t, tm.tenant)
		hits, err := search(ctx, tm.user, org, "type=dash-db&folderUIDs="+gfapi.FolderUID(tm.tenant, tm.team))
		if err != nil || len(hits) == 0 {
			t.Fatalf("%s listing its dashboards: %v %+v", tm.user, err, hits)
		}
		for _, h := range hits {
			var d dashboardModel
			if err := as(ctx, tm.user, org, http.MethodGet, "/api/dashboards/uid/"+h.UID, nil, &d); err != nil {
				t.Fatalf("%s reading dashboard %s: %v", tm.user, h.UID, err)
			}
			if len(d.Dashboard.Panels) < 3 {
				t.Errorf("%s has %d panels, want at least 3", d.Dashboard.Title, len(d.Dashboard.Panels))
			}
			for _, p := range d.Dashboard.Panels {
				if len(p.Targets) == 0 {
					t.Errorf("%s / %q has no query", d.Dashboard.Title, p.Title)
				}
				for _, tg := range p.Targets {
					uid, _ := tg.Datasource["uid"].(string)
					if uid != datasourceUID(tm.tenant) {
						t.Errorf("%s / %q: datasource %q, want the tenant's %q", d.Dashboard.Title, p.Title, uid, datasourceUID(tm.tenant))
						continue
					}
					res, err := query(ctx, tm.user, org, uid, tg)
					switch {
					case err != nil:
						t.Errorf("%s / %q %s: %v", d.Dashboard.Title, p.Title, tg.RefID, err)
					case res.Error != "" || res.Values == 0:
						t.Errorf("%s / %q %s returned no data (error %q) for %s", d.Dashboard.Title, p.Title, tg.RefID, res.Error, tg.Expr)
					}
					for _, l := range res.Series {
						if ns, ok := l["namespace"]; ok && !slices.Contains(tenants[tm.tenant].namespaces(), ns) {
							t.Errorf("%s / %q shows namespace %s of another tenant", d.Dashboard.Title, p.Title, ns)
						}
					}
				}
			}
		}
	}
}

func testDrift(t *testing.T) {
	ctx := context.Background()
	org := orgID(t, "acme")
	folder := gfapi.FolderUID("acme", "web")
	adminCall := func(method, path string, body, out any) error {
		return grafanaapi.Do(ctx, s.grafana.URL, s.grafana.AdminUser, s.grafana.AdminPassword, org, method, path, body, out)
	}

	// A permission added by hand: every Viewer of the organization may view.
	perms, err := folderPermissions(ctx, org, folder)
	if err != nil {
		t.Fatal(err)
	}
	items := []map[string]any{{"role": "Viewer", "permission": gfapi.PermissionView}}
	for _, p := range perms {
		if p.Inherited {
			continue
		}
		item := map[string]any{"permission": p.Permission}
		switch {
		case p.TeamID != 0:
			item["teamId"] = p.TeamID
		case p.UserID != 0:
			item["userId"] = p.UserID
		default:
			item["role"] = p.Role
		}
		items = append(items, item)
	}
	if err := adminCall(http.MethodPost, "/api/folders/"+folder+"/permissions", map[string]any{"items": items}, nil); err != nil {
		t.Fatalf("adding a permission by hand: %v", err)
	}

	// A dashboard edited by hand.
	uid := gfapi.DashboardUID("acme", "web", "team-cost.json")
	var d map[string]any
	if err := adminCall(http.MethodGet, "/api/dashboards/uid/"+uid, nil, &d); err != nil {
		t.Fatal(err)
	}
	model := d["dashboard"].(map[string]any)
	wantTitle := model["title"]
	model["title"] = "edited by hand"
	if err := adminCall(http.MethodPost, "/api/dashboards/db", map[string]any{"dashboard": model, "folderUid": folder, "overwrite": true}, nil); err != nil {
		t.Fatalf("editing the dashboard by hand: %v", err)
	}

	mark := s.grafana.Mark()
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		perms, err := folderPermissions(ctx, org, folder)
		if err != nil {
			return err
		}
		for _, p := range perms {
			if p.Role == "Viewer" && !p.Inherited {
				return fmt.Errorf("the Viewer role still has permission %d", p.Permission)
			}
		}
		return nil
	})
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		var d map[string]any
		if err := adminCall(http.MethodGet, "/api/dashboards/uid/"+uid, nil, &d); err != nil {
			return err
		}
		if got := d["dashboard"].(map[string]any)["title"]; got != wantTitle {
			return fmt.Errorf("title is %q, want %q", got, wantTitle)
		}
		return nil
	})
	if w := matching(managerWritesSince(mark), "/api/folders/"+folder+"/permissions"); len(w) == 0 {
		t.Error("the permission drift was reverted without the manager writing: the counter missed it")
	}
}

func testSteadyState(t *testing.T) {
	// One full sync of each tenant after the drift test, so nothing from
	// it is still in flight, then three more that must write nothing.
	var mark int
	for _, wantSyncs := range []int{1, 3} {
		mark = s.grafana.Mark()
		framework.Eventually(t, 30*time.Second, func(context.Context) error {
			for _, tenant := range sortedKeys(tenants) {
				if n := syncsSince(mark, tenant); n < wantSyncs {
					return fmt.Errorf("tenant %s synced %d times, waiting for %d", tenant, n, wantSyncs)
				}
			}
			return nil
		})
	}
	if writes := managerWritesSince(mark); len(writes) != 0 {
		t.Errorf("steady state wrote to Grafana: %q", writes)
	}
}

func testDeletion(t *testing.T) {
	ctx := context.Background()
	admin := s.env.Admin(t)
	globexOrg := orgID(t, "globex")
	for _, name := range sortedKeys(tenants) {
		if err := admin.Delete(ctx, &tenancyv1.Tenant{ObjectMeta: tenants[name].object().ObjectMeta}); err != nil {
			t.Fatalf("deleting Tenant %s: %v", name, err)
		}
	}
	// Delete: the organization goes, with its folders, dashboards, teams
	// and datasource.
	framework.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		err := s.grafana.Admin(ctx, http.MethodGet, "/api/orgs/name/acme", nil, nil)
		if grafanaapi.HTTPStatus(err) == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("organization acme still there: %v", err)
	})
	// Retain: once the Tenant is gone, everything in Grafana stays.
	framework.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		err := admin.Get(ctx, client.ObjectKey{Name: "globex"}, &tenancyv1.Tenant{})
		if client.IgnoreNotFound(err) == nil && err != nil {
			return nil
		}
		return fmt.Errorf("Tenant globex still there: %v", err)
	})
	if got := orgID(t, "globex"); got != globexOrg {
		t.Errorf("organization globex is %d, want %d kept", got, globexOrg)
	}
	folders, err := search(ctx, "bob", globexOrg, "type=dash-folder")
	if err != nil || len(folders) != 1 || folders[0].UID != gfapi.FolderUID("globex", "api") {
		t.Errorf("bob's folder was not retained: %v %+v", err, folders)
	}
	var teams struct {
		TotalCount int `json:"totalCount"`
	}
	if err := grafanaapi.Do(ctx, s.grafana.URL, s.grafana.AdminUser, s.grafana.AdminPassword, globexOrg, http.MethodGet,
		"/api/teams/search?query=globex%2F", nil, &teams); err != nil || teams.TotalCount != 2 {
		t.Errorf("globex's teams were not retained: %v, %d teams", err, teams.TotalCount)
	}
}
