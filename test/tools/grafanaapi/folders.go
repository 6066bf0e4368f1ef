package grafanaapi

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/grafana/grafana-openapi-client-go/models"
)

// maxUIDLength and uidPattern are Grafana's rules for folder, dashboard
// and datasource UIDs.
const maxUIDLength = 40

var uidPattern = regexp.MustCompile(`^[a-zA-Z0-9\-_]+$`)

func validUID(uid string) bool { return len(uid) <= maxUIDLength && uidPattern.MatchString(uid) }

// slugify is Grafana's slug: lower case, runs of anything but letters and
// digits become one dash.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

func folderURL(f *Folder) string { return "/dashboards/f/" + f.UID + "/" + slugify(f.Title) }

// folderPermission is what the caller may do in a folder: organization
// Admins everything, anyone else the best ACL entry that applies to them,
// a role entry applying to that role and every role above it.
func (s *Server) folderPermission(q *request, o *Org, f *Folder) int64 {
	if q.orgRole == RoleAdmin {
		return PermissionAdmin
	}
	var best int64
	for _, p := range f.Permissions {
		var applies bool
		switch {
		case p.TeamID != 0:
			t := o.Teams[p.TeamID]
			if t != nil && q.user != nil {
				_, applies = t.Members[q.user.ID]
			}
		case p.UserID != 0:
			applies = q.user != nil && q.user.ID == p.UserID
		default:
			applies = roleIncludes(q.orgRole, p.Role)
		}
		if applies && p.Permission > best {
			best = p.Permission
		}
	}
	return best
}

// generalPermission is what the caller may do in the General folder
// (folder uid ""), whose ACL Grafana fixes: Viewers view, Editors edit.
func generalPermission(role string) int64 {
	switch {
	case roleIncludes(role, RoleAdmin):
		return PermissionAdmin
	case roleIncludes(role, RoleEditor):
		return PermissionEdit
	case roleIncludes(role, RoleViewer):
		return PermissionView
	}
	return 0
}

// folderFor finds the path's folder and checks the caller holds at least
// want on it, answering 404 or 403 itself.
func (s *Server) folderFor(q *request, want int64) (*Org, *Folder) {
	o := q.org(s)
	f := o.Folders[q.params["uid"]]
	if f == nil {
		writeError(q.w, http.StatusNotFound, "Folder not found")
		return nil, nil
	}
	if s.folderPermission(q, o, f) < want {
		writeError(q.w, http.StatusForbidden, "Access denied")
		return nil, nil
	}
	return o, f
}

func (s *Server) folderDTO(q *request, o *Org, f *Folder) models.Folder {
	perm := s.folderPermission(q, o, f)
	return models.Folder{ID: f.ID, UID: f.UID, Title: f.Title, URL: folderURL(f), OrgID: o.ID, Version: f.Version,
		HasACL: true, CanSave: perm >= PermissionEdit, CanEdit: perm >= PermissionEdit, CanDelete: perm >= PermissionEdit,
		CanAdmin: perm >= PermissionAdmin, Created: created, Updated: created, CreatedBy: "Anonymous", UpdatedBy: "Anonymous"}
}

// createFolder is POST /api/folders. A new folder gets Grafana's default
// ACL: the Editor role edits and the Viewer role views.
func (s *Server) createFolder(q *request) {
	var body models.CreateFolderCommand
	if !q.decodeStrict(&body) {
		return
	}
	o := q.org(s)
	switch {
	case body.ParentUID != "":
		writeError(q.w, http.StatusBadRequest, "nested folders are not modelled by the double")
		return
	case body.Title == "":
		writeError(q.w, http.StatusBadRequest, "folder title cannot be empty")
		return
	case body.UID == "":
		body.UID = "f" + itoa(s.state.NewID())
	case !validUID(body.UID):
		writeError(q.w, http.StatusBadRequest, "uid contains illegal characters or is too long")
		return
	}
	if o.Folders[body.UID] != nil || o.Dashboards[body.UID] != nil {
		writeError(q.w, http.StatusConflict, "a folder or dashboard with the same uid already exists")
		return
	}
	for _, f := range o.Folders {
		if f.Title == body.Title {
			writeError(q.w, http.StatusConflict, "a folder or dashboard in the general folder with the same name already exists")
			return
		}
	}
	f := &Folder{ID: s.state.NewID(), UID: body.UID, Title: body.Title, Version: 1, Permissions: []Permission{
		{Role: RoleEditor, Permission: PermissionEdit}, {Role: RoleViewer, Permission: PermissionView}}}
	o.Folders[f.UID] = f
	writeJSON(q.w, http.StatusOK, s.folderDTO(q, o, f))
}

func (s *Server) getFolder(q *request) {
	o, f := s.folderFor(q, PermissionView)
	if f == nil {
		return
	}
	writeJSON(q.w, http.StatusOK, s.folderDTO(q, o, f))
}

// updateFolder is PUT /api/folders/:uid: without overwrite, the version
// sent must be the stored one.
func (s *Server) updateFolder(q *request) {
	o, f := s.folderFor(q, PermissionEdit)
	if f == nil {
		return
	}
	var body models.UpdateFolderCommand
	if !q.decodeStrict(&body) {
		return
	}
	if !body.Overwrite && body.Version != f.Version {
		writeError(q.w, http.StatusPreconditionFailed, "the folder has been changed by someone else")
		return
	}
	if body.Title != "" {
		f.Title = body.Title
	}
	f.Version++
	writeJSON(q.w, http.StatusOK, s.folderDTO(q, o, f))
}

// deleteFolder is DELETE /api/folders/:uid, which deletes its dashboards.
func (s *Server) deleteFolder(q *request) {
	o, f := s.folderFor(q, PermissionEdit)
	if f == nil {
		return
	}
	for uid, d := range o.Dashboards {
		if d.FolderUID == f.UID {
			delete(o.Dashboards, uid)
		}
	}
	delete(o.Folders, f.UID)
	writeJSON(q.w, http.StatusOK, models.DeleteFolderOKBody{ID: ptr(f.ID), Title: ptr(f.Title),
		Message: ptr("Folder " + f.Title + " deleted")})
}

var permissionNames = map[int64]string{PermissionView: "View", PermissionEdit: "Edit", PermissionAdmin: "Admin"}

// getFolderPermissions is GET /api/folders/:uid/permissions; it takes the
// folder's Admin permission.
func (s *Server) getFolderPermissions(q *request) {
	o, f := s.folderFor(q, PermissionAdmin)
	if f == nil {
		return
	}
	out := []*models.DashboardACLInfoDTO{}
	for _, p := range f.Permissions {
		dto := &models.DashboardACLInfoDTO{FolderID: f.ID, FolderUID: f.UID, UID: f.UID, Title: f.Title, Slug: slugify(f.Title),
			URL: folderURL(f), IsFolder: true, Permission: models.PermissionType(p.Permission),
			PermissionName: permissionNames[p.Permission], Role: p.Role, Created: created, Updated: created}
		if t := o.Teams[p.TeamID]; t != nil {
			dto.TeamID, dto.Team, dto.TeamUID = t.ID, t.Name, uidOf("t", t.ID)
			dto.TeamAvatarURL = "/avatar/" + uidOf("t", t.ID)
		}
		if u := s.state.Users[p.UserID]; u != nil {
			dto.UserID, dto.UserLogin, dto.UserEmail, dto.UserUID = u.ID, u.Login, u.Email, uidOf("u", u.ID)
			dto.UserAvatarURL = "/avatar/" + uidOf("u", u.ID)
		}
		out = append(out, dto)
	}
	writeJSON(q.w, http.StatusOK, out)
}

// setFolderPermissions is POST /api/folders/:uid/permissions: it replaces
// the whole ACL, and takes the folder's Admin permission.
func (s *Server) setFolderPermissions(q *request) {
	o, f := s.folderFor(q, PermissionAdmin)
	if f == nil {
		return
	}
	var body models.UpdateDashboardACLCommand
	if !q.decodeStrict(&body) {
		return
	}
	perms := make([]Permission, 0, len(body.Items))
	seen := map[Permission]bool{}
	for i, it := range body.Items {
		if it == nil {
			writeError(q.w, http.StatusBadRequest, "item "+strconv.Itoa(i)+" is null")
			return
		}
		p := Permission{TeamID: it.TeamID, UserID: it.UserID, Role: it.Role, Permission: int64(it.Permission)}
		set := 0
		for _, b := range []bool{p.TeamID != 0, p.UserID != 0, p.Role != ""} {
			if b {
				set++
			}
		}
		switch {
		case set != 1:
			writeError(q.w, http.StatusBadRequest, "each item needs exactly one of teamId, userId and role")
			return
		case permissionNames[p.Permission] == "":
			writeError(q.w, http.StatusBadRequest, "invalid permission "+strconv.FormatInt(p.Permission, 10))
			return
		case p.Role != "" && !validRole(p.Role):
			writeError(q.w, http.StatusBadRequest, "invalid role "+p.Role)
			return
		case p.TeamID != 0 && o.Teams[p.TeamID] == nil:
			writeError(q.w, http.StatusBadRequest, "team "+itoa(p.TeamID)+" not found")
			return
		case p.UserID != 0 && s.state.Users[p.UserID] == nil:
			writeError(q.w, http.StatusBadRequest, "user "+itoa(p.UserID)+" not found")
			return
		}
		key := p
		key.Permission = 0
		if seen[key] {
			writeError(q.w, http.StatusBadRequest, "Duplicate permission")
			return
		}
		seen[key] = true
		perms = append(perms, p)
	}
	f.Permissions = perms
	writeJSON(q.w, http.StatusOK, models.SuccessResponseBody{Message: "Folder permissions updated"})
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
