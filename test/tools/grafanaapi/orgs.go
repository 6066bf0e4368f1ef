package grafanaapi

import (
	"net/http"
	"sort"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// created is the fixed creation time the double reports for everything.
var created = strfmt.DateTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

func ptr[T any](v T) *T { return &v }

func (s *Server) health(q *request) {
	writeJSON(q.w, http.StatusOK, models.HealthResponse{Commit: "grafanaapi-double", Database: "ok", Version: Version})
}

// adminCreateUser is POST /api/admin/users. Like Grafana with
// auto_assign_org, the new user joins the main organization as a Viewer.
func (s *Server) adminCreateUser(q *request) {
	var body models.AdminCreateUserForm
	if !q.decodeStrict(&body) {
		return
	}
	switch {
	case body.Login == "" && body.Email == "":
		writeError(q.w, http.StatusBadRequest, "login or email is required")
		return
	case body.Password == "":
		writeError(q.w, http.StatusBadRequest, "password is missing")
		return
	}
	if body.Login == "" {
		body.Login = body.Email
	}
	if s.state.UserByLogin(body.Login) != nil || (body.Email != "" && s.state.UserByLogin(body.Email) != nil) {
		writeError(q.w, http.StatusPreconditionFailed, "User with same email or login already exists")
		return
	}
	u := s.addUser(body.Login, body.Email, body.Name, string(body.Password))
	orgID := body.OrgID
	if orgID == 0 {
		orgID = MainOrgID
	}
	if o := s.state.Orgs[orgID]; o != nil {
		o.Members[u.ID] = RoleViewer
	}
	writeJSON(q.w, http.StatusOK, models.AdminCreateUserResponse{ID: u.ID, Message: "User created", UID: uidOf("u", u.ID)})
}

func (s *Server) addUser(login, email, name, password string) *User {
	if name == "" {
		name = login
	}
	u := &User{ID: s.state.NewID(), Login: login, Email: email, Name: name, Password: password}
	s.state.Users[u.ID] = u
	return u
}

func (s *Server) lookupUser(q *request) {
	u := s.state.UserByLogin(q.r.URL.Query().Get("loginOrEmail"))
	if u == nil {
		writeError(q.w, http.StatusNotFound, "user not found")
		return
	}
	writeJSON(q.w, http.StatusOK, models.UserProfileDTO{
		ID: u.ID, UID: uidOf("u", u.ID), Login: u.Login, Email: u.Email, Name: u.Name, OrgID: s.defaultOrg(u.ID),
		IsGrafanaAdmin: u.ServerAdmin, AuthLabels: []string{}, CreatedAt: created, UpdatedAt: created, Theme: "",
	})
}

func (s *Server) getOrgByName(q *request) {
	o := s.state.OrgByName(q.params["name"])
	if o == nil {
		writeError(q.w, http.StatusNotFound, "Organization not found")
		return
	}
	writeJSON(q.w, http.StatusOK, models.OrgDetailsDTO{ID: o.ID, Name: o.Name, Address: &models.Address{}})
}

// createOrg is POST /api/orgs; the creating user becomes its Admin.
func (s *Server) createOrg(q *request) {
	var body models.CreateOrgCommand
	if !q.decodeStrict(&body) {
		return
	}
	if body.Name == "" {
		writeError(q.w, http.StatusBadRequest, "Organization name is required")
		return
	}
	if s.state.OrgByName(body.Name) != nil {
		writeError(q.w, http.StatusConflict, "Organization name taken")
		return
	}
	o := newOrg(s.state.NewID(), body.Name)
	o.Members[q.user.ID] = RoleAdmin
	s.state.Orgs[o.ID] = o
	writeJSON(q.w, http.StatusOK, models.CreateOrgOKBody{Message: ptr("Organization created"), OrgID: ptr(o.ID)})
}

// deleteOrg is DELETE /api/orgs/:id. Like Grafana it refuses to delete
// the organization the caller is using, which for the admin is the main one.
func (s *Server) deleteOrg(q *request) {
	id, ok := q.intParam("id")
	if !ok {
		return
	}
	if s.state.Orgs[id] == nil {
		writeError(q.w, http.StatusNotFound, "Failed to delete organization. ID not found")
		return
	}
	if id == s.defaultOrg(q.user.ID) {
		writeError(q.w, http.StatusBadRequest, "Can not delete org for current user")
		return
	}
	delete(s.state.Orgs, id)
	for tok, t := range s.state.Tokens {
		if t.OrgID == id {
			delete(s.state.Tokens, tok)
		}
	}
	writeJSON(q.w, http.StatusOK, models.SuccessResponseBody{Message: "Organization deleted"})
}

func (s *Server) orgParam(q *request) *Org {
	id, ok := q.intParam("id")
	if !ok {
		return nil
	}
	o := s.state.Orgs[id]
	if o == nil {
		writeError(q.w, http.StatusNotFound, "Organization not found")
	}
	return o
}

func (s *Server) listOrgUsers(q *request) {
	o := s.orgParam(q)
	if o == nil {
		return
	}
	out := []*models.OrgUserDTO{}
	for id, role := range o.Members {
		u := s.state.Users[id]
		out = append(out, &models.OrgUserDTO{OrgID: o.ID, UserID: id, UID: uidOf("u", id), Login: u.Login, Email: u.Email,
			Name: u.Name, Role: role, AuthLabels: []string{}, LastSeenAt: created, LastSeenAtAge: "10 years"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	writeJSON(q.w, http.StatusOK, out)
}

func (s *Server) addOrgUser(q *request) {
	o := s.orgParam(q)
	if o == nil {
		return
	}
	var body models.AddOrgUserCommand
	if !q.decodeStrict(&body) {
		return
	}
	if !validRole(body.Role) {
		writeError(q.w, http.StatusBadRequest, "Invalid role specified")
		return
	}
	u := s.state.UserByLogin(body.LoginOrEmail)
	switch {
	case u == nil:
		writeError(q.w, http.StatusNotFound, "User not found")
		return
	case o.Members[u.ID] != "":
		writeError(q.w, http.StatusConflict, "User is already member of this organization")
		return
	}
	o.Members[u.ID] = body.Role
	writeJSON(q.w, http.StatusOK, models.SuccessResponseBody{Message: "User added to organization"})
}

// removeOrgUser also drops the user from the organization's teams and
// ACLs, and refuses to remove the last Admin, as Grafana does.
func (s *Server) removeOrgUser(q *request) {
	o := s.orgParam(q)
	if o == nil {
		return
	}
	userID, ok := q.intParam("userId")
	if !ok {
		return
	}
	role := o.Members[userID]
	if role == "" {
		writeError(q.w, http.StatusNotFound, "User not found")
		return
	}
	if role == RoleAdmin {
		admins := 0
		for _, r := range o.Members {
			if r == RoleAdmin {
				admins++
			}
		}
		if admins == 1 {
			writeError(q.w, http.StatusBadRequest, "Cannot remove last organization admin")
			return
		}
	}
	delete(o.Members, userID)
	for _, t := range o.Teams {
		delete(t.Members, userID)
	}
	for _, f := range o.Folders {
		f.Permissions = without(f.Permissions, func(p Permission) bool { return p.UserID == userID })
	}
	writeJSON(q.w, http.StatusOK, models.SuccessResponseBody{Message: "User removed from organization"})
}

func without(ps []Permission, drop func(Permission) bool) []Permission {
	out := ps[:0:0]
	for _, p := range ps {
		if !drop(p) {
			out = append(out, p)
		}
	}
	return out
}

// uidOf gives users and teams the string uid Grafana 10 also reports.
func uidOf(kind string, id int64) string { return kind + "-" + itoa(id) }
