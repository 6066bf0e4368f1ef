package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// request is one call the mock Grafana served.
type request struct {
	Method, Path, Org, Auth, Body string
}

// grafanaServer serves the endpoints OpenAPIClient calls, with the paths
// and bodies of Grafana's HTTP API, over the in-memory fake, so the
// Provisioner can run through the real client and HTTP.
type grafanaServer struct {
	*httptest.Server
	fake *fakeGrafana
	mu   sync.Mutex
	log  []request
}

func newGrafanaServer(t *testing.T, f *fakeGrafana) *grafanaServer {
	s := &grafanaServer{fake: f}
	mux := http.NewServeMux()
	s.routes(mux)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.log = append(s.log, request{r.Method, r.URL.RequestURI(), r.Header.Get("X-Grafana-Org-Id"), r.Header.Get("Authorization"), string(body)})
		s.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *grafanaServer) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.log...)
}

func (s *grafanaServer) writes() []request {
	var out []request
	for _, r := range s.requests() {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, ErrNotFound):
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": "not found"})
	case err != nil:
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
	default:
		_ = json.NewEncoder(w).Encode(v)
	}
}

func orgOf(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.Header.Get("X-Grafana-Org-Id"), 10, 64)
	if id == 0 {
		return 1
	}
	return id
}

func pathInt(r *http.Request, name string) int64 {
	id, _ := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id
}

func decode(r *http.Request, v any) { _ = json.NewDecoder(r.Body).Decode(v) }

func (s *grafanaServer) routes(mux *http.ServeMux) {
	f, ctx := s.fake, context.Background()
	ok := map[string]string{"message": "ok"}
	mux.HandleFunc("GET /api/users/lookup", func(w http.ResponseWriter, r *http.Request) {
		u, err := f.LookupUser(ctx, r.URL.Query().Get("loginOrEmail"))
		reply(w, map[string]any{"id": u.ID, "login": u.Login, "email": u.Email}, err)
	})
	mux.HandleFunc("POST /api/orgs", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Name string }
		decode(r, &body)
		id, err := f.CreateOrg(ctx, body.Name)
		reply(w, map[string]any{"orgId": id, "message": "Organization created"}, err)
	})
	mux.HandleFunc("DELETE /api/orgs/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, f.DeleteOrg(ctx, pathInt(r, "id")))
	})
	// GET /api/orgs/name/:name and GET /api/orgs/:id/users overlap as
	// patterns, so one handler serves both.
	mux.HandleFunc("GET /api/orgs/{id}/{rest}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "name" {
			o, err := f.GetOrgByName(ctx, r.PathValue("rest"))
			reply(w, map[string]any{"id": o.ID, "name": o.Name}, err)
			return
		}
		us, err := f.ListOrgUsers(ctx, pathInt(r, "id"))
		var out []map[string]any
		for _, u := range us {
			out = append(out, map[string]any{"userId": u.UserID, "login": u.Login, "role": u.Role, "orgId": pathInt(r, "id")})
		}
		reply(w, out, err)
	})
	mux.HandleFunc("POST /api/orgs/{id}/users", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ LoginOrEmail, Role string }
		decode(r, &body)
		reply(w, ok, f.AddOrgUser(ctx, pathInt(r, "id"), body.LoginOrEmail, body.Role))
	})
	mux.HandleFunc("DELETE /api/orgs/{id}/users/{user}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, f.RemoveOrgUser(ctx, pathInt(r, "id"), pathInt(r, "user")))
	})
	mux.HandleFunc("GET /api/datasources/uid/{uid}", func(w http.ResponseWriter, r *http.Request) {
		ds, err := f.GetDatasource(ctx, orgOf(r), r.PathValue("uid"))
		reply(w, map[string]any{"id": 7, "uid": ds.UID, "name": ds.Name, "type": ds.Type, "url": ds.URL,
			"access": ds.Access, "isDefault": ds.IsDefault, "jsonData": ds.JSONData, "version": 3}, err)
	})
	saveDS := func(create bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				UID, Name, Type, URL, Access string
				IsDefault                    bool
				JSONData                     map[string]any
			}
			decode(r, &body)
			ds := Datasource{UID: body.UID, Name: body.Name, Type: body.Type, URL: body.URL, Access: body.Access,
				IsDefault: body.IsDefault, JSONData: body.JSONData}
			if create {
				reply(w, ok, f.CreateDatasource(ctx, orgOf(r), ds))
				return
			}
			reply(w, ok, f.UpdateDatasource(ctx, orgOf(r), ds))
		}
	}
	mux.HandleFunc("POST /api/datasources", saveDS(true))
	mux.HandleFunc("PUT /api/datasources/uid/{uid}", saveDS(false))
	mux.HandleFunc("DELETE /api/datasources/uid/{uid}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, f.DeleteDatasource(ctx, orgOf(r), r.PathValue("uid")))
	})
	folderJSON := func(fo Folder) map[string]any {
		return map[string]any{"id": 3, "uid": fo.UID, "title": fo.Title, "url": fo.URL, "version": 1}
	}
	mux.HandleFunc("GET /api/folders/{uid}", func(w http.ResponseWriter, r *http.Request) {
		fo, err := f.GetFolder(ctx, orgOf(r), r.PathValue("uid"))
		reply(w, folderJSON(fo), err)
	})
	mux.HandleFunc("POST /api/folders", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ UID, Title string }
		decode(r, &body)
		fo, err := f.CreateFolder(ctx, orgOf(r), Folder{UID: body.UID, Title: body.Title})
		reply(w, folderJSON(fo), err)
	})
	mux.HandleFunc("PUT /api/folders/{uid}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Title     string
			Overwrite bool
		}
		decode(r, &body)
		if !body.Overwrite {
			reply(w, nil, fmt.Errorf("version conflict"))
			return
		}
		reply(w, ok, f.UpdateFolder(ctx, orgOf(r), Folder{UID: r.PathValue("uid"), Title: body.Title}))
	})
	mux.HandleFunc("DELETE /api/folders/{uid}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, f.DeleteFolder(ctx, orgOf(r), r.PathValue("uid")))
	})
	mux.HandleFunc("GET /api/folders/{uid}/permissions", func(w http.ResponseWriter, r *http.Request) {
		ps, err := f.GetFolderPermissions(ctx, orgOf(r), r.PathValue("uid"))
		out := []map[string]any{
			// Inherited entries are not the folder's own and must be ignored.
			{"role": "Viewer", "permission": 1, "inherited": true},
		}
		for _, p := range ps {
			out = append(out, map[string]any{"teamId": p.TeamID, "userId": p.UserID, "role": p.Role,
				"permission": p.Permission, "permissionName": "x", "uid": r.PathValue("uid"), "isFolder": true})
		}
		reply(w, out, err)
	})
	mux.HandleFunc("POST /api/folders/{uid}/permissions", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Items []struct {
				TeamID, UserID, Permission int64
				Role                       string
			}
		}
		decode(r, &body)
		var ps []Permission
		for _, it := range body.Items {
			ps = append(ps, Permission{TeamID: it.TeamID, UserID: it.UserID, Role: it.Role, Permission: it.Permission})
		}
		reply(w, ok, f.SetFolderPermissions(ctx, orgOf(r), r.PathValue("uid"), ps))
	})
	mux.HandleFunc("GET /api/teams/search", func(w http.ResponseWriter, r *http.Request) {
		ts, err := f.SearchTeams(ctx, orgOf(r), r.URL.Query().Get("query"))
		out := []map[string]any{}
		for _, t := range ts {
			out = append(out, map[string]any{"id": t.ID, "name": t.Name, "orgId": orgOf(r), "memberCount": 1, "uid": "x", "isProvisioned": false})
		}
		reply(w, map[string]any{"totalCount": len(out), "teams": out, "page": 1, "perPage": 1000}, err)
	})
	mux.HandleFunc("POST /api/teams", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Name string }
		decode(r, &body)
		t, err := f.CreateTeam(ctx, orgOf(r), body.Name)
		reply(w, map[string]any{"teamId": t.ID, "message": "Team created"}, err)
	})
	mux.HandleFunc("DELETE /api/teams/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, f.DeleteTeam(ctx, orgOf(r), pathInt(r, "id")))
	})
	mux.HandleFunc("GET /api/teams/{id}/members", func(w http.ResponseWriter, r *http.Request) {
		us, err := f.ListTeamMembers(ctx, orgOf(r), pathInt(r, "id"))
		out := []map[string]any{}
		for _, u := range us {
			out = append(out, map[string]any{"userId": u.ID, "teamId": pathInt(r, "id"), "login": "u" + fmt.Sprint(u.ID)})
		}
		reply(w, out, err)
	})
	mux.HandleFunc("POST /api/teams/{id}/members", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			UserID int64 `json:"userId"`
		}
		decode(r, &body)
		reply(w, ok, f.AddTeamMember(ctx, orgOf(r), pathInt(r, "id"), body.UserID))
	})
	mux.HandleFunc("DELETE /api/teams/{id}/members/{user}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, f.RemoveTeamMember(ctx, orgOf(r), pathInt(r, "id"), pathInt(r, "user")))
	})
	mux.HandleFunc("GET /api/dashboards/uid/{uid}", func(w http.ResponseWriter, r *http.Request) {
		d, err := f.GetDashboard(ctx, orgOf(r), r.PathValue("uid"))
		reply(w, map[string]any{"dashboard": d.Model, "meta": map[string]any{"folderUid": d.FolderUID, "version": 1, "slug": "x"}}, err)
	})
	mux.HandleFunc("POST /api/dashboards/db", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Dashboard map[string]any `json:"dashboard"`
			FolderUID string         `json:"folderUid"`
			Overwrite bool           `json:"overwrite"`
		}
		decode(r, &body)
		if !body.Overwrite {
			reply(w, nil, fmt.Errorf("overwrite not set"))
			return
		}
		reply(w, map[string]any{"status": "success", "uid": body.Dashboard["uid"], "version": 1},
			f.UpsertDashboard(ctx, orgOf(r), Dashboard{FolderUID: body.FolderUID, Model: body.Dashboard}))
	})
	mux.HandleFunc("DELETE /api/dashboards/uid/{uid}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, ok, f.DeleteDashboard(ctx, orgOf(r), r.PathValue("uid")))
	})
}
