package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestOpenAPIClientProvisions(t *testing.T) {
	f := newFake("olivia", "alice", "bob", "victor")
	srv := newGrafanaServer(t, f)
	c, err := NewOpenAPIClient(Config{URL: srv.URL + "/", Username: "admin", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	p := &Provisioner{Client: c, BaseURL: srv.URL}
	ctx := context.Background()

	res, err := p.Sync(ctx, acmeState())
	if err != nil {
		t.Fatalf("first Sync: %v", err)
	}
	if res.Writes == 0 || res.Writes != len(srv.writes()) {
		t.Errorf("Result.Writes = %d, server saw %d writes", res.Writes, len(srv.writes()))
	}
	orgID := res.OrgID
	for _, r := range srv.requests() {
		if r.Auth != "Basic YWRtaW46c2VjcmV0" {
			t.Errorf("%s %s: Authorization = %q", r.Method, r.Path, r.Auth)
		}
		serverWide := strings.HasPrefix(r.Path, "/api/orgs") || strings.HasPrefix(r.Path, "/api/users")
		if wantOrg := strconv.FormatInt(orgID, 10); !serverWide && r.Org != wantOrg {
			t.Errorf("%s %s: X-Grafana-Org-Id = %q, want %q", r.Method, r.Path, r.Org, wantOrg)
		}
	}
	o := f.orgByName("acme")
	if o == nil || len(o.dashboards) != 6 || len(o.folders) != 2 || len(o.teams) != 2 {
		t.Fatalf("first sync through HTTP did not provision everything: %+v", o)
	}

	// The steady state through real HTTP round-trips: zero writes.
	before := len(srv.requests())
	res, err = p.Sync(ctx, acmeState())
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 0 || countAfter(srv.requests()[before:]) != 0 {
		t.Errorf("steady state made writes: %+v", srv.requests()[before:])
	}

	// Drift: someone grants the Viewer role on the web folder.
	webFolder := FolderUID("acme", "web")
	o.perms[webFolder] = append(o.perms[webFolder], Permission{Role: RoleViewer, Permission: PermissionView})
	before = len(srv.requests())
	if _, err := p.Sync(ctx, acmeState()); err != nil {
		t.Fatal(err)
	}
	var got []request
	for _, r := range srv.requests()[before:] {
		if r.Method != http.MethodGet {
			got = append(got, r)
		}
	}
	if len(got) != 1 || got[0].Method != http.MethodPost || got[0].Path != "/api/folders/"+webFolder+"/permissions" {
		t.Fatalf("drift revert requests = %+v", got)
	}
	var body struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(got[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	webID, _ := teamByName(t, o, "acme/web")
	want := []map[string]any{
		{"teamId": float64(webID), "permission": float64(PermissionEdit)},
		{"role": "Admin", "permission": float64(PermissionAdmin)},
		{"userId": float64(user(f, "victor")), "permission": float64(PermissionView)},
	}
	if diff := cmp.Diff(sortItems(want), sortItems(body.Items)); diff != "" {
		t.Errorf("permissions body (-want +got):\n%s", diff)
	}

	// Teardown deletes the organization by id.
	if _, err := p.Teardown(ctx, acmeState(), tenancyv1alpha1.DeletionDelete); err != nil {
		t.Fatal(err)
	}
	last := srv.requests()[len(srv.requests())-1]
	if last.Method != http.MethodDelete || last.Path != fmt.Sprintf("/api/orgs/%d", orgID) {
		t.Errorf("teardown request = %+v", last)
	}
	if f.orgByName("acme") != nil {
		t.Error("organization survived teardown")
	}
}

func countAfter(rs []request) int {
	n := 0
	for _, r := range rs {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

func sortItems(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		b, _ := json.Marshal(it)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIClientRequests(t *testing.T) {
	f := newFake("alice")
	srv := newGrafanaServer(t, f)
	c, err := NewOpenAPIClient(Config{URL: srv.URL, Token: "glsa_token"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if _, err := c.LookupUser(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupUser of an unknown user: err = %v, want ErrNotFound", err)
	}
	if _, err := c.GetFolder(ctx, 1, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetFolder of a missing folder: err = %v, want ErrNotFound", err)
	}
	u, err := c.LookupUser(ctx, "alice@example.com")
	if err != nil || u.Login != "alice" {
		t.Fatalf("LookupUser = %+v, %v", u, err)
	}
	team, err := c.CreateTeam(ctx, 1, "acme/web")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddTeamMember(ctx, 1, team.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveTeamMember(ctx, 1, team.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.UpsertDashboard(ctx, 1, Dashboard{FolderUID: "nope", Model: map[string]any{"uid": "d"}}); err == nil ||
		!strings.Contains(err.Error(), `writing dashboard "d"`) {
		t.Errorf("UpsertDashboard into a missing folder: err = %v, want a wrapped failure", err)
	}

	want := []request{
		{Method: "GET", Path: "/api/users/lookup?loginOrEmail=nobody%40example.com"},
		{Method: "GET", Path: "/api/folders/missing", Org: "1"},
		{Method: "GET", Path: "/api/users/lookup?loginOrEmail=alice%40example.com"},
		{Method: "POST", Path: "/api/teams", Org: "1", Body: `{"name":"acme/web"}`},
		{Method: "POST", Path: fmt.Sprintf("/api/teams/%d/members", team.ID), Org: "1", Body: fmt.Sprintf(`{"userId":%d}`, u.ID)},
		{Method: "DELETE", Path: fmt.Sprintf("/api/teams/%d/members/%d", team.ID, u.ID), Org: "1"},
		{Method: "POST", Path: "/api/dashboards/db", Org: "1",
			// The library always sends UpdatedAt; Grafana ignores a zero time.
			Body: `{"UpdatedAt":"0001-01-01T00:00:00.000Z","dashboard":{"uid":"d"},"folderUid":"nope","message":"Provisioned by Canopy","overwrite":true}`},
	}
	got := srv.requests()
	for i := range got {
		if got[i].Auth != "Bearer glsa_token" {
			t.Errorf("%s %s: Authorization = %q", got[i].Method, got[i].Path, got[i].Auth)
		}
		got[i].Auth = ""
		got[i].Body = strings.TrimSpace(got[i].Body)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestNewOpenAPIClientConfig(t *testing.T) {
	cases := map[string]Config{
		"no credentials":     {URL: "http://grafana"},
		"token and password": {URL: "http://grafana", Token: "t", Username: "u"},
		"no scheme":          {URL: "grafana:3000", Token: "t"},
		"bad CA":             {URL: "https://grafana", Token: "t", CAData: []byte("not PEM")},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := NewOpenAPIClient(cfg); err == nil {
				t.Error("NewOpenAPIClient accepted an invalid config")
			}
		})
	}
}

func TestOpenAPIClientTLS(t *testing.T) {
	f := newFake("alice")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := f.LookupUser(r.Context(), r.URL.Query().Get("loginOrEmail"))
		reply(w, map[string]any{"id": u.ID, "login": u.Login}, err)
	}))
	defer srv.Close()

	untrusted, err := NewOpenAPIClient(Config{URL: srv.URL, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := untrusted.LookupUser(context.Background(), "alice"); err == nil {
		t.Error("a self-signed certificate was trusted without its CA")
	}

	pem := certPEM(srv.Certificate().Raw)
	trusted, err := NewOpenAPIClient(Config{URL: srv.URL, Token: "t", CAData: pem})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := trusted.LookupUser(context.Background(), "alice"); err != nil || u.Login != "alice" {
		t.Errorf("with the CA: %+v, %v", u, err)
	}
}
