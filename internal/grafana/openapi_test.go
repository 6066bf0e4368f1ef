package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// TestOpenAPIClientProvisions checks what the client puts on the wire:
// basic auth on every request, the tenant's organization on every
// organization-scoped one, and the body of a permissions revert.
func TestOpenAPIClientProvisions(t *testing.T) {
	e := newEnv(t, "olivia", "alice", "bob", "victor")
	ctx := context.Background()
	res, err := e.p.Sync(ctx, acmeState())
	if err != nil {
		t.Fatalf("first Sync: %v", err)
	}
	if res.Writes == 0 || res.Writes != e.s.WriteCount() {
		t.Errorf("Result.Writes = %d, the double saw %d writes", res.Writes, e.s.WriteCount())
	}
	for _, c := range e.s.Calls() {
		if c.Login != "admin" || c.Status/100 != 2 && c.Status != http.StatusNotFound {
			t.Errorf("%s %s: login %q, status %d", c.Method, c.Path, c.Login, c.Status)
		}
		serverWide := strings.HasPrefix(c.Path, "/api/orgs") || strings.HasPrefix(c.Path, "/api/users")
		if !serverWide && c.OrgID != res.OrgID {
			t.Errorf("%s %s ran in organization %d, want the tenant's %d", c.Method, c.Path, c.OrgID, res.OrgID)
		}
	}

	// Drift: someone grants the Viewer role on the web folder.
	webFolder := FolderUID("acme", "web")
	e.org("acme", func(o *grafanaapi.Org) {
		f := o.Folders[webFolder]
		f.Permissions = append(f.Permissions, grafanaapi.Permission{Role: RoleViewer, Permission: PermissionView})
	})
	mark := e.s.Mark()
	if _, err := e.p.Sync(ctx, acmeState()); err != nil {
		t.Fatal(err)
	}
	writes := e.s.WritesSince(mark)
	if len(writes) != 1 || writes[0].Method != http.MethodPost || writes[0].Path != "/api/folders/"+webFolder+"/permissions" {
		t.Fatalf("drift revert requests = %v", e.writesSince(mark))
	}
	var body struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(writes[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"teamId": float64(e.teamID("acme", "acme/web")), "permission": float64(PermissionEdit)},
		{"role": "Admin", "permission": float64(PermissionAdmin)},
		{"userId": float64(e.user("victor")), "permission": float64(PermissionView)},
	}
	if diff := cmp.Diff(sortItems(want), sortItems(body.Items)); diff != "" {
		t.Errorf("permissions body (-want +got):\n%s", diff)
	}

	// Teardown deletes the organization by id.
	if _, err := e.p.Teardown(ctx, acmeState(), tenancyv1alpha1.DeletionDelete); err != nil {
		t.Fatal(err)
	}
	calls := e.s.Calls()
	if last := calls[len(calls)-1]; last.Method != http.MethodDelete || last.Path != fmt.Sprintf("/api/orgs/%d", res.OrgID) {
		t.Errorf("teardown request = %s %s", last.Method, last.Path)
	}
	if e.hasOrg("acme") {
		t.Error("organization survived teardown")
	}
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

// wire is one call as the double saw it, for exact comparison.
type wire struct {
	Method, Path, Query, Login string
	OrgID                      int64
	Body                       string
}

func TestOpenAPIClientRequests(t *testing.T) {
	e := newEnv(t, "alice")
	ctx := context.Background()
	token, err := e.s.AddServiceAccountToken(grafanaapi.MainOrgID, RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	bot, err := NewOpenAPIClient(Config{URL: e.s.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := e.c.LookupUser(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LookupUser of an unknown user: err = %v, want ErrNotFound", err)
	}
	if _, err := bot.GetFolder(ctx, 1, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetFolder of a missing folder: err = %v, want ErrNotFound", err)
	}
	u, err := e.c.LookupUser(ctx, "alice@example.com")
	if err != nil || u.Login != "alice" {
		t.Fatalf("LookupUser = %+v, %v", u, err)
	}
	team, err := bot.CreateTeam(ctx, 1, "acme/web")
	if err != nil {
		t.Fatal(err)
	}
	if err := bot.AddTeamMember(ctx, 1, team.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := bot.RemoveTeamMember(ctx, 1, team.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := bot.UpsertDashboard(ctx, 1, Dashboard{FolderUID: "nope", Model: map[string]any{"uid": "d", "title": "D"}}); err == nil ||
		!strings.Contains(err.Error(), `writing dashboard "d"`) {
		t.Errorf("UpsertDashboard into a missing folder: err = %v, want a wrapped failure", err)
	}
	if _, err := bot.LookupUser(ctx, "alice"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("LookupUser with an organization's token: err = %v, want a refusal", err)
	}

	want := []wire{
		{Method: "GET", Path: "/api/users/lookup", Query: "loginOrEmail=nobody%40example.com", Login: "admin"},
		{Method: "GET", Path: "/api/folders/missing", OrgID: 1, Login: "token"},
		{Method: "GET", Path: "/api/users/lookup", Query: "loginOrEmail=alice%40example.com", Login: "admin"},
		{Method: "POST", Path: "/api/teams", OrgID: 1, Login: "token", Body: `{"name":"acme/web"}`},
		{Method: "POST", Path: fmt.Sprintf("/api/teams/%d/members", team.ID), OrgID: 1, Login: "token", Body: fmt.Sprintf(`{"userId":%d}`, u.ID)},
		{Method: "DELETE", Path: fmt.Sprintf("/api/teams/%d/members/%d", team.ID, u.ID), OrgID: 1, Login: "token"},
		{Method: "POST", Path: "/api/dashboards/db", OrgID: 1, Login: "token",
			// The library always sends UpdatedAt; Grafana ignores a zero time.
			Body: `{"UpdatedAt":"0001-01-01T00:00:00.000Z","dashboard":{"title":"D","uid":"d"},"folderUid":"nope","message":"Provisioned by Canopy","overwrite":true}`},
		{Method: "GET", Path: "/api/users/lookup", Query: "loginOrEmail=alice", Login: "token"},
	}
	var got []wire
	for _, c := range e.s.Calls() {
		got = append(got, wire{Method: c.Method, Path: c.Path, Query: c.Query, Login: c.Login, OrgID: c.OrgID,
			Body: strings.TrimSpace(string(c.Body))})
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

// TestOpenAPIClientTLS puts the double behind TLS with a self-signed
// certificate: trusted only with its CA.
func TestOpenAPIClientTLS(t *testing.T) {
	e := newEnv(t, "alice")
	target, _ := url.Parse(e.s.URL)
	srv := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	defer srv.Close()

	untrusted, err := NewOpenAPIClient(Config{URL: srv.URL, Username: e.s.AdminUser, Password: e.s.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := untrusted.LookupUser(context.Background(), "alice"); err == nil {
		t.Error("a self-signed certificate was trusted without its CA")
	}

	pem := certPEM(srv.Certificate().Raw)
	trusted, err := NewOpenAPIClient(Config{URL: srv.URL, Username: e.s.AdminUser, Password: e.s.AdminPassword, CAData: pem})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := trusted.LookupUser(context.Background(), "alice"); err != nil || u.Login != "alice" {
		t.Errorf("with the CA: %+v, %v", u, err)
	}
}
