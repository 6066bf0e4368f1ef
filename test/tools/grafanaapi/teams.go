package grafanaapi

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/grafana/grafana-openapi-client-go/models"
)

func (s *Server) teamDTO(o *Org, t *Team) *models.TeamDTO {
	return &models.TeamDTO{ID: ptr(t.ID), UID: ptr(uidOf("t", t.ID)), OrgID: ptr(o.ID), Name: ptr(t.Name),
		MemberCount: ptr(int64(len(t.Members))), IsProvisioned: ptr(false), AvatarURL: "/avatar/" + uidOf("t", t.ID)}
}

// searchTeams is GET /api/teams/search: teams whose name contains query,
// case-insensitively, by name, one page at a time.
func (s *Server) searchTeams(q *request) {
	o := q.org(s)
	v := q.r.URL.Query()
	perPage, page := int64(1000), int64(1)
	for name, dst := range map[string]*int64{"perpage": &perPage, "page": &page} {
		if raw := v.Get(name); raw != "" {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n < 1 {
				writeError(q.w, http.StatusBadRequest, name+" is invalid")
				return
			}
			*dst = n
		}
	}
	query := strings.ToLower(v.Get("query"))
	var match []*Team
	for _, t := range o.Teams {
		if strings.Contains(strings.ToLower(t.Name), query) && (v.Get("name") == "" || t.Name == v.Get("name")) {
			match = append(match, t)
		}
	}
	sort.Slice(match, func(i, j int) bool { return match[i].Name < match[j].Name })
	out := models.SearchTeamQueryResult{TotalCount: int64(len(match)), Page: page, PerPage: perPage, Teams: []*models.TeamDTO{}}
	for i := (page - 1) * perPage; i < int64(len(match)) && i < page*perPage; i++ {
		out.Teams = append(out.Teams, s.teamDTO(o, match[i]))
	}
	writeJSON(q.w, http.StatusOK, out)
}

// createTeam is POST /api/teams. A user who creates a team becomes its
// admin member, as in Grafana; a service account does not.
func (s *Server) createTeam(q *request) {
	var body models.CreateTeamCommand
	if !q.decodeStrict(&body) {
		return
	}
	if body.Name == nil || *body.Name == "" {
		writeError(q.w, http.StatusBadRequest, "team name is required")
		return
	}
	o := q.org(s)
	if o.TeamByName(*body.Name) != nil {
		writeError(q.w, http.StatusConflict, "Team name taken")
		return
	}
	t := &Team{ID: s.state.NewID(), Name: *body.Name, Members: map[int64]int64{}}
	if q.user != nil {
		t.Members[q.user.ID] = PermissionAdmin
	}
	o.Teams[t.ID] = t
	writeJSON(q.w, http.StatusOK, models.CreateTeamOKBody{Message: "Team created", TeamID: t.ID, UID: uidOf("t", t.ID)})
}

func (s *Server) teamParam(q *request) (*Org, *Team) {
	id, ok := q.intParam("id")
	if !ok {
		return nil, nil
	}
	o := q.org(s)
	t := o.Teams[id]
	if t == nil {
		writeError(q.w, http.StatusNotFound, "Team not found")
		return nil, nil
	}
	return o, t
}

// deleteTeam is DELETE /api/teams/:id; the team's ACL entries go with it.
func (s *Server) deleteTeam(q *request) {
	o, t := s.teamParam(q)
	if t == nil {
		return
	}
	delete(o.Teams, t.ID)
	for _, f := range o.Folders {
		f.Permissions = without(f.Permissions, func(p Permission) bool { return p.TeamID == t.ID })
	}
	writeJSON(q.w, http.StatusOK, models.SuccessResponseBody{Message: "Team deleted"})
}

func (s *Server) listTeamMembers(q *request) {
	o, t := s.teamParam(q)
	if t == nil {
		return
	}
	out := []*models.TeamMemberDTO{}
	for _, id := range t.MemberIDs() {
		u := s.state.Users[id]
		out = append(out, &models.TeamMemberDTO{OrgID: o.ID, TeamID: t.ID, TeamUID: uidOf("t", t.ID), UserID: id,
			UserUID: uidOf("u", id), Login: u.Login, Email: u.Email, Name: u.Name, AvatarURL: "/avatar/" + uidOf("u", id),
			Labels: []string{}, Permission: models.PermissionType(t.Members[id])})
	}
	writeJSON(q.w, http.StatusOK, out)
}

// addTeamMember is POST /api/teams/:id/members; the user must belong to
// the organization.
func (s *Server) addTeamMember(q *request) {
	o, t := s.teamParam(q)
	if t == nil {
		return
	}
	var body models.AddTeamMemberCommand
	if !q.decodeStrict(&body) {
		return
	}
	switch {
	case body.UserID == nil || s.state.Users[*body.UserID] == nil:
		writeError(q.w, http.StatusNotFound, "User not found")
		return
	case o.Members[*body.UserID] == "":
		writeError(q.w, http.StatusBadRequest, "User is not a member of the organization")
		return
	}
	if _, ok := t.Members[*body.UserID]; ok {
		writeError(q.w, http.StatusBadRequest, "User is already added to this team")
		return
	}
	t.Members[*body.UserID] = 0
	writeJSON(q.w, http.StatusOK, models.SuccessResponseBody{Message: "Member added to Team"})
}

func (s *Server) removeTeamMember(q *request) {
	_, t := s.teamParam(q)
	if t == nil {
		return
	}
	userID, ok := q.intParam("userId")
	if !ok {
		return
	}
	if _, ok := t.Members[userID]; !ok {
		writeError(q.w, http.StatusNotFound, "Team member not found")
		return
	}
	delete(t.Members, userID)
	writeJSON(q.w, http.StatusOK, models.SuccessResponseBody{Message: "Team Member removed"})
}
