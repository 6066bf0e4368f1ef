package grafanaapi_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/grafana/grafana-openapi-client-go/models"

	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

func TestStrictness(t *testing.T) {
	admin, s := newClient(t)
	s.AddUsers("alice")
	cases := []struct {
		name     string
		c        client
		method   string
		path     string
		body     any
		wantCode int
	}{
		{"unknown field", admin, "POST", "/api/orgs", map[string]any{"name": "x", "nmae": "typo"}, http.StatusBadRequest},
		{"unknown path", admin, "GET", "/api/alerts", nil, http.StatusNotFound},
		{"wrong method", admin, "PATCH", "/api/folders/x", nil, http.StatusMethodNotAllowed},
		{"no credentials", admin.as(""), "GET", "/api/search", nil, http.StatusUnauthorized},
		{"wrong password", client{t: t, s: s, user: "alice", pw: "nope"}, "GET", "/api/search", nil, http.StatusUnauthorized},
		{"unknown token", client{t: t, s: s, tok: "glsa_nope"}, "GET", "/api/search", nil, http.StatusUnauthorized},
		{"server-wide as a user", admin.as("alice"), "POST", "/api/orgs", models.CreateOrgCommand{Name: "x"}, http.StatusForbidden},
		{"org admin endpoint as a Viewer", admin.as("alice"), "GET", "/api/teams/search", nil, http.StatusForbidden},
		{"organization of which the user is no member", admin.as("alice").inOrg(99), "GET", "/api/search", nil, http.StatusUnauthorized},
		{"dashboard into a missing folder", admin, "POST", "/api/dashboards/db",
			models.SaveDashboardCommand{Dashboard: map[string]any{"uid": "d", "title": "t"}, FolderUID: "nope", Overwrite: true}, http.StatusBadRequest},
		{"invalid uid", admin, "POST", "/api/folders", models.CreateFolderCommand{UID: "a/b", Title: "t"}, http.StatusBadRequest},
		{"permissions of a missing folder", admin, "POST", "/api/folders/x/permissions", nil, http.StatusNotFound},
		{"unmodelled datasource setting", admin, "POST", "/api/datasources",
			models.AddDataSourceCommand{Name: "p", Type: "prometheus", BasicAuth: true}, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.t = t
			if code := tc.c.do(tc.method, tc.path, tc.body, nil); code != tc.wantCode {
				t.Errorf("status %d, want %d", code, tc.wantCode)
			}
		})
	}
}

func TestServiceAccountTokenIsBoundToItsOrganization(t *testing.T) {
	admin, s := newClient(t)
	var org models.CreateOrgOKBody
	admin.must("POST", "/api/orgs", models.CreateOrgCommand{Name: "acme"}, &org)
	tok, err := s.AddServiceAccountToken(*org.OrgID, grafanaapi.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	bot := client{t: t, s: s, tok: tok}
	var f models.Folder
	bot.must("POST", "/api/folders", models.CreateFolderCommand{UID: "f", Title: "t"}, &f)
	if code := bot.inOrg(grafanaapi.MainOrgID).do("GET", "/api/folders/f", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("token used in another organization: %d, want 401", code)
	}
	if code := bot.do("POST", "/api/orgs", models.CreateOrgCommand{Name: "x"}, nil); code != http.StatusForbidden {
		t.Errorf("token creating an organization: %d, want 403", code)
	}
	var team models.CreateTeamOKBody
	bot.must("POST", "/api/teams", models.CreateTeamCommand{Name: ptr("t")}, &team)
	var members []*models.TeamMemberDTO
	bot.must("GET", "/api/teams/"+itoa(team.TeamID)+"/members", nil, &members)
	if len(members) != 0 {
		t.Errorf("a team made by a token has members %+v, want none", members)
	}
}

// TestFolderPermissionsAreEvaluated: what non-admin users see follows the
// folder ACL, through team, user and role entries.
func TestFolderPermissionsAreEvaluated(t *testing.T) {
	admin, s := newClient(t)
	ids := s.AddUsers("alice", "bob", "victor", "eve")
	var team models.CreateTeamOKBody
	admin.must("POST", "/api/teams", models.CreateTeamCommand{Name: ptr("web")}, &team)
	admin.must("POST", "/api/teams/"+itoa(team.TeamID)+"/members", models.AddTeamMemberCommand{UserID: &ids[0]}, nil)
	for _, f := range []string{"web", "api", "open"} {
		admin.must("POST", "/api/folders", models.CreateFolderCommand{UID: f, Title: f}, nil)
		admin.must("POST", "/api/dashboards/db", models.SaveDashboardCommand{
			Dashboard: map[string]any{"uid": "d-" + f, "title": "dash " + f}, FolderUID: f, Overwrite: true}, nil)
	}
	admin.must("POST", "/api/folders/web/permissions", models.UpdateDashboardACLCommand{Items: []*models.DashboardACLUpdateItem{
		{TeamID: team.TeamID, Permission: 2}, {UserID: ids[2], Permission: 1}, {Role: "Admin", Permission: 4}}}, nil)
	admin.must("POST", "/api/folders/api/permissions", models.UpdateDashboardACLCommand{Items: []*models.DashboardACLUpdateItem{
		{UserID: ids[1], Permission: 2}}}, nil)
	// "open" keeps the defaults: every Viewer views.
	for _, tc := range []struct {
		user string
		want []string
	}{
		{"alice", []string{"dash open", "dash web"}},
		{"bob", []string{"dash api", "dash open"}},
		{"victor", []string{"dash open", "dash web"}},
		{"eve", []string{"dash open"}},
	} {
		var hits models.HitList
		admin.as(tc.user).must("GET", "/api/search?type=dash-db", nil, &hits)
		var got []string
		for _, h := range hits {
			got = append(got, h.Title)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s sees %q, want %q", tc.user, got, tc.want)
		}
	}
	if code := admin.as("eve").do("GET", "/api/dashboards/uid/d-web", nil, nil); code != http.StatusForbidden {
		t.Errorf("eve reading web's dashboard: %d, want 403", code)
	}
	if code := admin.as("victor").do("POST", "/api/dashboards/db", models.SaveDashboardCommand{
		Dashboard: map[string]any{"uid": "d-web", "title": "mine"}, FolderUID: "web", Overwrite: true}, nil); code != http.StatusForbidden {
		t.Errorf("a viewer saving into the folder: %d, want 403", code)
	}
	admin.as("alice").must("POST", "/api/dashboards/db", models.SaveDashboardCommand{
		Dashboard: map[string]any{"uid": "d-web", "title": "dash web"}, FolderUID: "web", Overwrite: true}, nil)
	// Deleting the team drops its ACL entry: alice sees web no more.
	admin.must("DELETE", "/api/teams/"+itoa(team.TeamID), nil, nil)
	if code := admin.as("alice").do("GET", "/api/dashboards/uid/d-web", nil, nil); code != http.StatusForbidden {
		t.Errorf("alice after her team's deletion: %d, want 403", code)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
