package grafanaapi

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// scope says who may call a route.
type scope int

const (
	public      scope = iota // no authentication, like /api/health
	serverAdmin              // a Grafana server admin, with basic auth
	orgScoped                // a member of the organization the request runs in
)

type route struct {
	method  string
	pattern []string // path segments; "{name}" captures one
	scope   scope
	// role is the least org role an orgScoped route takes; folder and
	// dashboard handlers check folder permissions on top.
	role    string
	handler func(*Server, *request)
}

func r(method, pattern string, sc scope, role string, h func(*Server, *request)) route {
	return route{method: method, pattern: strings.Split(strings.Trim(pattern, "/"), "/"), scope: sc, role: role, handler: h}
}

// routeTable is exactly the endpoints Canopy and its tests call.
func (s *Server) routeTable() []route {
	return []route{
		r("GET", "/api/health", public, "", (*Server).health),
		r("POST", "/api/admin/users", serverAdmin, "", (*Server).adminCreateUser),
		r("GET", "/api/users/lookup", serverAdmin, "", (*Server).lookupUser),

		r("GET", "/api/orgs/name/{name}", serverAdmin, "", (*Server).getOrgByName),
		r("POST", "/api/orgs", serverAdmin, "", (*Server).createOrg),
		r("DELETE", "/api/orgs/{id}", serverAdmin, "", (*Server).deleteOrg),
		r("GET", "/api/orgs/{id}/users", serverAdmin, "", (*Server).listOrgUsers),
		r("POST", "/api/orgs/{id}/users", serverAdmin, "", (*Server).addOrgUser),
		r("DELETE", "/api/orgs/{id}/users/{userId}", serverAdmin, "", (*Server).removeOrgUser),

		r("POST", "/api/datasources", orgScoped, RoleAdmin, (*Server).createDatasource),
		r("GET", "/api/datasources/uid/{uid}", orgScoped, RoleAdmin, (*Server).getDatasource),
		r("PUT", "/api/datasources/uid/{uid}", orgScoped, RoleAdmin, (*Server).updateDatasource),
		r("DELETE", "/api/datasources/uid/{uid}", orgScoped, RoleAdmin, (*Server).deleteDatasource),

		r("POST", "/api/folders", orgScoped, RoleEditor, (*Server).createFolder),
		r("GET", "/api/folders/{uid}", orgScoped, RoleViewer, (*Server).getFolder),
		r("PUT", "/api/folders/{uid}", orgScoped, RoleViewer, (*Server).updateFolder),
		r("DELETE", "/api/folders/{uid}", orgScoped, RoleViewer, (*Server).deleteFolder),
		r("GET", "/api/folders/{uid}/permissions", orgScoped, RoleViewer, (*Server).getFolderPermissions),
		r("POST", "/api/folders/{uid}/permissions", orgScoped, RoleViewer, (*Server).setFolderPermissions),

		r("GET", "/api/teams/search", orgScoped, RoleAdmin, (*Server).searchTeams),
		r("POST", "/api/teams", orgScoped, RoleAdmin, (*Server).createTeam),
		r("DELETE", "/api/teams/{id}", orgScoped, RoleAdmin, (*Server).deleteTeam),
		r("GET", "/api/teams/{id}/members", orgScoped, RoleAdmin, (*Server).listTeamMembers),
		r("POST", "/api/teams/{id}/members", orgScoped, RoleAdmin, (*Server).addTeamMember),
		r("DELETE", "/api/teams/{id}/members/{userId}", orgScoped, RoleAdmin, (*Server).removeTeamMember),

		r("GET", "/api/dashboards/uid/{uid}", orgScoped, RoleViewer, (*Server).getDashboard),
		r("DELETE", "/api/dashboards/uid/{uid}", orgScoped, RoleViewer, (*Server).deleteDashboard),
		r("POST", "/api/dashboards/db", orgScoped, RoleViewer, (*Server).postDashboard),

		r("GET", "/api/search", orgScoped, RoleViewer, (*Server).search),
		// POST /api/ds/query is served by handle itself, outside the lock.
		r("POST", "/api/ds/query", orgScoped, RoleViewer, nil),
	}
}

// match returns the route for method and path, the methods the path
// allows, and the captured parameters. Literal segments win over
// captures, so /api/teams/search is not team "search".
func (s *Server) match(method, path string) (*route, []string, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var best *route
	var bestParams map[string]string
	bestLiterals := -1
	var allowed []string
	for i := range s.routes {
		rt := &s.routes[i]
		params, literals, ok := matchSegments(rt.pattern, segs)
		if !ok {
			continue
		}
		allowed = append(allowed, rt.method)
		if rt.method == method && literals > bestLiterals {
			best, bestParams, bestLiterals = rt, params, literals
		}
	}
	sort.Strings(allowed)
	return best, allowed, bestParams
}

func matchSegments(pattern, segs []string) (map[string]string, int, bool) {
	if len(pattern) != len(segs) {
		return nil, 0, false
	}
	params := map[string]string{}
	literals := 0
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, 0, false
			}
			params[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, 0, false
		}
		literals++
	}
	return params, literals, true
}

// dispatch routes, authenticates and authorizes a request, then runs its
// handler. The caller holds s.mu.
func (s *Server) dispatch(q *request) {
	if s.fault != nil && s.fault(q.r) {
		writeError(q.w, http.StatusInternalServerError, "injected failure")
		return
	}
	rt, allowed, params := s.match(q.r.Method, q.r.URL.Path)
	switch {
	case rt == nil && len(allowed) == 0:
		writeError(q.w, http.StatusNotFound, "Not found")
		return
	case rt == nil:
		q.w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(q.w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	q.params = params
	if !s.authorize(q, rt.scope, rt.role) {
		return
	}
	rt.handler(s, q)
}

// admit routes and authorizes the one route served outside dispatch.
func (s *Server) admit(q *request, method, path string, sc scope, role string) bool {
	if s.fault != nil && s.fault(q.r) {
		writeError(q.w, http.StatusInternalServerError, "injected failure")
		return false
	}
	if q.r.Method != method || q.r.URL.Path != path {
		writeError(q.w, http.StatusNotFound, "Not found")
		return false
	}
	return s.authorize(q, sc, role)
}

// authorize authenticates the caller and checks the route's scope. It
// answers the refusal itself and returns false.
func (s *Server) authorize(q *request, sc scope, role string) bool {
	if sc == public {
		return true
	}
	if !s.authenticate(q) {
		return false
	}
	switch sc {
	case serverAdmin:
		if q.user == nil || !q.user.ServerAdmin {
			writeError(q.w, http.StatusForbidden, "Permission denied")
			return false
		}
		return true
	case orgScoped:
		return s.enterOrg(q, role)
	}
	return false
}

func (s *Server) authenticate(q *request) bool {
	auth := q.r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "Basic "):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		login, password, ok := strings.Cut(string(raw), ":")
		u := s.state.UserByLogin(login)
		if err != nil || !ok || u == nil || u.Password == "" || u.Password != password {
			writeError(q.w, http.StatusUnauthorized, "Invalid username or password")
			return false
		}
		q.user, q.call.Login = u, u.Login
		return true
	case strings.HasPrefix(auth, "Bearer "):
		tok, ok := s.state.Tokens[strings.TrimPrefix(auth, "Bearer ")]
		if !ok {
			writeError(q.w, http.StatusUnauthorized, "Invalid API key")
			return false
		}
		q.token, q.call.Login = &tok, "token"
		return true
	}
	writeError(q.w, http.StatusUnauthorized, "Unauthorized")
	return false
}

// enterOrg settles the request's organization: the X-Grafana-Org-Id
// header, else the token's or the user's own. The caller must belong to
// it with at least role.
func (s *Server) enterOrg(q *request, role string) bool {
	var orgID int64
	if h := q.r.Header.Get("X-Grafana-Org-Id"); h != "" {
		id, err := strconv.ParseInt(h, 10, 64)
		if err != nil || id <= 0 {
			writeError(q.w, http.StatusBadRequest, "Invalid X-Grafana-Org-Id header")
			return false
		}
		orgID = id
	}
	switch {
	case q.token != nil:
		if orgID != 0 && orgID != q.token.OrgID {
			writeError(q.w, http.StatusUnauthorized, "Unauthorized")
			return false
		}
		orgID, q.orgRole = q.token.OrgID, q.token.Role
	default:
		if orgID == 0 {
			orgID = s.defaultOrg(q.user.ID)
		}
		o := s.state.Orgs[orgID]
		if o == nil || o.Members[q.user.ID] == "" {
			writeError(q.w, http.StatusUnauthorized, "Unauthorized")
			return false
		}
		q.orgRole = o.Members[q.user.ID]
	}
	if s.state.Orgs[orgID] == nil {
		writeError(q.w, http.StatusUnauthorized, "Unauthorized")
		return false
	}
	q.orgID, q.call.OrgID = orgID, orgID
	if !roleIncludes(q.orgRole, role) {
		writeError(q.w, http.StatusForbidden, "Permission denied")
		return false
	}
	return true
}

// defaultOrg is the organization a user lands in: the lowest one it
// belongs to, as Grafana's auto-assigned main organization usually is.
func (s *Server) defaultOrg(userID int64) int64 {
	best := int64(0)
	for id, o := range s.state.Orgs {
		if o.Members[userID] != "" && (best == 0 || id < best) {
			best = id
		}
	}
	return best
}

func (q *request) org(s *Server) *Org { return s.state.Orgs[q.orgID] }

// intParam parses a path parameter, answering 400 when it is no number.
func (q *request) intParam(name string) (int64, bool) {
	id, err := strconv.ParseInt(q.params[name], 10, 64)
	if err != nil {
		writeError(q.w, http.StatusBadRequest, name+" is invalid")
		return 0, false
	}
	return id, true
}
