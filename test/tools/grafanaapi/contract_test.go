package grafanaapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/grafana/grafana-openapi-client-go/models"

	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// client calls the double and decodes every answer strictly: a success
// into the grafana-openapi-client-go type the test names, an error into
// models.ErrorResponseBody, both with unknown fields disallowed.
type client struct {
	t    *testing.T
	s    *grafanaapi.Server
	user string
	pw   string
	tok  string
	org  int64
}

func (c client) as(user string) client {
	c.user, c.pw = user, user+"-pw"
	return c
}

func (c client) inOrg(id int64) client {
	c.org = id
	return c
}

// do sends the request and returns the status; out receives a 2xx answer.
func (c client) do(method, path string, body, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.s.URL+path, r)
	switch {
	case c.tok != "":
		req.Header.Set("Authorization", "Bearer "+c.tok)
	case c.user != "":
		req.SetBasicAuth(c.user, c.pw)
	}
	if c.org != 0 {
		req.Header.Set("X-Grafana-Org-Id", strconv.FormatInt(c.org, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 && !(path == "/api/ds/query" && resp.StatusCode == http.StatusBadRequest) {
		// A failed ds/query answers its results, with each query's error.
		var e models.ErrorResponseBody
		if err := strictDecode(raw, &e); err != nil || e.Message == nil || *e.Message == "" {
			c.t.Errorf("%s %s: error answer %d %s is not Grafana's error shape: %v", method, path, resp.StatusCode, raw, err)
		}
		return resp.StatusCode
	}
	if out != nil {
		if err := strictDecode(raw, out); err != nil {
			c.t.Errorf("%s %s: answer %s does not decode into %T: %v", method, path, raw, out, err)
		}
	}
	return resp.StatusCode
}

// must is do, failing the test unless the status is 200.
func (c client) must(method, path string, body, out any) {
	c.t.Helper()
	if code := c.do(method, path, body, out); code != http.StatusOK {
		c.t.Fatalf("%s %s as %q: status %d, want 200", method, path, c.user, code)
	}
}

func strictDecode(raw []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func newClient(t *testing.T) (client, *grafanaapi.Server) {
	s := grafanaapi.New(t)
	return client{t: t, s: s, user: s.AdminUser, pw: s.AdminPassword}, s
}

// TestContract drives every endpoint the way Canopy and its tests do and
// decodes each answer into the client library's type.
func TestContract(t *testing.T) {
	admin, s := newClient(t)
	var health models.HealthResponse
	admin.as("").must("GET", "/api/health", nil, &health)
	if health.Database != "ok" || health.Version != grafanaapi.Version {
		t.Errorf("health = %+v", health)
	}

	var created models.AdminCreateUserResponse
	admin.must("POST", "/api/admin/users", models.AdminCreateUserForm{Login: "alice", Email: "alice@example.com", Password: "alice-pw"}, &created)
	if created.ID == 0 {
		t.Fatal("no user id")
	}
	var profile models.UserProfileDTO
	admin.must("GET", "/api/users/lookup?loginOrEmail=alice%40example.com", nil, &profile)
	if profile.ID != created.ID || profile.Login != "alice" {
		t.Errorf("lookup = %+v", profile)
	}

	var org models.CreateOrgOKBody
	admin.must("POST", "/api/orgs", models.CreateOrgCommand{Name: "acme"}, &org)
	orgID := *org.OrgID
	var byName models.OrgDetailsDTO
	admin.must("GET", "/api/orgs/name/acme", nil, &byName)
	if byName.ID != orgID {
		t.Errorf("org by name = %+v, want id %d", byName, orgID)
	}
	var ok models.SuccessResponseBody
	admin.must("POST", fmt.Sprintf("/api/orgs/%d/users", orgID), models.AddOrgUserCommand{LoginOrEmail: "alice", Role: "Viewer"}, &ok)
	var orgUsers []*models.OrgUserDTO
	admin.must("GET", fmt.Sprintf("/api/orgs/%d/users", orgID), nil, &orgUsers)
	if len(orgUsers) != 2 || orgUsers[0].Role != "Admin" || orgUsers[1].Login != "alice" {
		t.Errorf("org users = %+v, want the creating admin and alice", orgUsers)
	}

	in := admin.inOrg(orgID)
	var dsAdded models.AddDataSourceOKBody
	in.must("POST", "/api/datasources", models.AddDataSourceCommand{UID: "ds1", Name: "Prometheus", Type: "prometheus",
		URL: "http://127.0.0.1:1", Access: "proxy", JSONData: map[string]any{"httpHeaderName1": "Authorization"},
		SecureJSONData: map[string]string{"httpHeaderValue1": "Bearer secret"}}, &dsAdded)
	var ds models.DataSource
	in.must("GET", "/api/datasources/uid/ds1", nil, &ds)
	if !ds.SecureJSONFields["httpHeaderValue1"] || bytes.Contains(mustJSON(t, ds), []byte("secret")) {
		t.Errorf("datasource read back = %+v, want the secure field named and its value hidden", ds)
	}
	var dsUpdated models.UpdateDataSourceByUIDOKBody
	in.must("PUT", "/api/datasources/uid/ds1", models.UpdateDataSourceCommand{UID: "ds1", Name: "Prometheus", Type: "prometheus",
		URL: "http://127.0.0.1:2", Access: "proxy"}, &dsUpdated)
	if !dsUpdated.Datasource.SecureJSONFields["httpHeaderValue1"] {
		t.Error("an update without secureJsonData dropped the stored secure value")
	}

	var folder models.Folder
	in.must("POST", "/api/folders", models.CreateFolderCommand{UID: "f1", Title: "acme / web"}, &folder)
	if folder.URL != "/dashboards/f/f1/acme-web" {
		t.Errorf("folder url = %q", folder.URL)
	}
	in.must("GET", "/api/folders/f1", nil, &folder)
	in.must("PUT", "/api/folders/f1", models.UpdateFolderCommand{Title: "web", Overwrite: true}, &folder)

	var team models.CreateTeamOKBody
	in.must("POST", "/api/teams", models.CreateTeamCommand{Name: ptr("acme/web")}, &team)
	var found models.SearchTeamQueryResult
	in.must("GET", "/api/teams/search?query=acme%2F&perpage=1000&page=1", nil, &found)
	if found.TotalCount != 1 || *found.Teams[0].ID != team.TeamID {
		t.Errorf("team search = %+v", found)
	}
	in.must("POST", fmt.Sprintf("/api/teams/%d/members", team.TeamID), models.AddTeamMemberCommand{UserID: &created.ID}, &ok)
	var members []*models.TeamMemberDTO
	in.must("GET", fmt.Sprintf("/api/teams/%d/members", team.TeamID), nil, &members)
	if len(members) != 2 { // the creating admin and alice
		t.Errorf("team members = %+v", members)
	}

	var perms []*models.DashboardACLInfoDTO
	in.must("GET", "/api/folders/f1/permissions", nil, &perms)
	if len(perms) != 2 {
		t.Errorf("a new folder's permissions = %+v, want Grafana's two role defaults", perms)
	}
	in.must("POST", "/api/folders/f1/permissions", models.UpdateDashboardACLCommand{Items: []*models.DashboardACLUpdateItem{
		{TeamID: team.TeamID, Permission: 2}, {Role: "Admin", Permission: 4}}}, &ok)
	in.must("GET", "/api/folders/f1/permissions", nil, &perms)
	if len(perms) != 2 || perms[0].TeamID != team.TeamID || perms[0].Team != "acme/web" || perms[1].Role != "Admin" {
		t.Errorf("permissions after the replace = %+v", perms)
	}

	model := map[string]any{"uid": "d1", "title": "Team cost (web)", "panels": []any{}, "tags": []any{"canopy"}}
	var saved models.PostDashboardOKBody
	in.must("POST", "/api/dashboards/db", models.SaveDashboardCommand{Dashboard: model, FolderUID: "f1", Overwrite: true, Message: "m"}, &saved)
	var full models.DashboardFullWithMeta
	in.must("GET", "/api/dashboards/uid/d1", nil, &full)
	got := full.Dashboard.(map[string]any)
	if got["version"] != float64(1) || got["id"] != float64(*saved.ID) || full.Meta.FolderUID != "f1" {
		t.Errorf("dashboard read back: version %v, id %v, folder %q", got["version"], got["id"], full.Meta.FolderUID)
	}
	// Without overwrite, a stale version is refused; with it, it is not.
	if code := in.do("POST", "/api/dashboards/db", models.SaveDashboardCommand{Dashboard: map[string]any{"uid": "d1", "title": "x", "version": 0}, FolderUID: "f1"}, nil); code != http.StatusPreconditionFailed {
		t.Errorf("stale save without overwrite: %d, want 412", code)
	}

	alice := admin.as("alice").inOrg(orgID)
	var hits models.HitList
	alice.must("GET", "/api/search?type=dash-db&folderUIDs=f1", nil, &hits)
	if len(hits) != 1 || hits[0].UID != "d1" || hits[0].FolderUID != "f1" {
		t.Errorf("alice's search = %+v", hits)
	}

	var deletedDash models.DeleteDashboardByUIDOKBody
	in.must("DELETE", "/api/dashboards/uid/d1", nil, &deletedDash)
	in.must("DELETE", fmt.Sprintf("/api/teams/%d/members/%d", team.TeamID, created.ID), nil, &ok)
	in.must("DELETE", fmt.Sprintf("/api/teams/%d", team.TeamID), nil, &ok)
	var deletedFolder models.DeleteFolderOKBody
	in.must("DELETE", "/api/folders/f1", nil, &deletedFolder)
	in.must("DELETE", "/api/datasources/uid/ds1", nil, &ok)
	admin.must("DELETE", fmt.Sprintf("/api/orgs/%d/users/%d", orgID, created.ID), nil, &ok)
	admin.must("DELETE", fmt.Sprintf("/api/orgs/%d", orgID), nil, &ok)
	if code := admin.do("GET", "/api/orgs/name/acme", nil, nil); code != http.StatusNotFound {
		t.Errorf("deleted org: %d, want 404", code)
	}
	if n := len(s.Writes()); n != 19 {
		t.Errorf("the double counted %d writes, want 19", n)
	}
}

func ptr[T any](v T) *T { return &v }

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
