package grafanaapi

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/grafana/grafana-openapi-client-go/models"
)

func dashboardURL(d *Dashboard) string { return "/d/" + d.UID + "/" + slugify(title(d)) }

func title(d *Dashboard) string { t, _ := d.Model["title"].(string); return t }

// dashboardPermission is what the caller may do with dashboards in a
// folder ("" is the General folder).
func (s *Server) dashboardPermission(q *request, o *Org, folderUID string) int64 {
	if folderUID == "" {
		return generalPermission(q.orgRole)
	}
	f := o.Folders[folderUID]
	if f == nil {
		return 0
	}
	return s.folderPermission(q, o, f)
}

func (s *Server) dashboardFor(q *request, want int64) (*Org, *Dashboard) {
	o := q.org(s)
	d := o.Dashboards[q.params["uid"]]
	if d == nil {
		writeError(q.w, http.StatusNotFound, "Dashboard not found")
		return nil, nil
	}
	if s.dashboardPermission(q, o, d.FolderUID) < want {
		writeError(q.w, http.StatusForbidden, "Access denied to this dashboard")
		return nil, nil
	}
	return o, d
}

// getDashboard is GET /api/dashboards/uid/:uid: the stored model with
// id, uid and version set by the server, and its meta.
func (s *Server) getDashboard(q *request) {
	o, d := s.dashboardFor(q, PermissionView)
	if d == nil {
		return
	}
	model := cloneJSON(d.Model)
	model["id"], model["uid"], model["version"] = d.ID, d.UID, d.Version
	perm := s.dashboardPermission(q, o, d.FolderUID)
	meta := &models.DashboardMeta{Type: "db", Slug: slugify(title(d)), URL: dashboardURL(d), Version: d.Version,
		CanSave: perm >= PermissionEdit, CanEdit: perm >= PermissionEdit, CanDelete: perm >= PermissionEdit,
		CanAdmin: perm >= PermissionAdmin, CanStar: q.user != nil, Created: created, Updated: created,
		CreatedBy: "Anonymous", UpdatedBy: "Anonymous", FolderUID: d.FolderUID, FolderTitle: "General", HasACL: false}
	if f := o.Folders[d.FolderUID]; f != nil {
		meta.FolderID, meta.FolderTitle, meta.FolderURL = f.ID, f.Title, folderURL(f)
	}
	writeJSON(q.w, http.StatusOK, models.DashboardFullWithMeta{Dashboard: model, Meta: meta})
}

// postDashboard is POST /api/dashboards/db: create, or update the
// dashboard with the model's uid. Without overwrite, an update must carry
// the stored version. Editing takes Edit on the target folder, and moving
// a dashboard Edit on its old folder as well.
func (s *Server) postDashboard(q *request) {
	var body models.SaveDashboardCommand
	if !q.decodeStrict(&body) {
		return
	}
	model, ok := body.Dashboard.(map[string]any)
	switch {
	case !ok:
		writeError(q.w, http.StatusBadRequest, "dashboard must be an object")
		return
	case body.IsFolder || body.FolderID != 0:
		writeError(q.w, http.StatusBadRequest, "isFolder and folderId are not modelled by the double; use folderUid")
		return
	}
	o := q.org(s)
	t, _ := model["title"].(string)
	if strings.TrimSpace(t) == "" {
		writeError(q.w, http.StatusBadRequest, "Dashboard title cannot be empty")
		return
	}
	uid, _ := model["uid"].(string)
	if uid == "" {
		uid = "d" + itoa(s.state.NewID())
	}
	if !validUID(uid) {
		writeError(q.w, http.StatusBadRequest, "uid contains illegal characters or is too long")
		return
	}
	if body.FolderUID != "" && o.Folders[body.FolderUID] == nil {
		writeError(q.w, http.StatusBadRequest, "Folder not found")
		return
	}
	if o.Folders[uid] != nil {
		writeError(q.w, http.StatusBadRequest, "a folder with this uid exists")
		return
	}
	if s.dashboardPermission(q, o, body.FolderUID) < PermissionEdit {
		writeError(q.w, http.StatusForbidden, "Access denied to save dashboard")
		return
	}
	d := o.Dashboards[uid]
	if d != nil {
		if s.dashboardPermission(q, o, d.FolderUID) < PermissionEdit {
			writeError(q.w, http.StatusForbidden, "Access denied to save dashboard")
			return
		}
		if v, _ := model["version"].(float64); !body.Overwrite && int64(v) != d.Version {
			writeJSON(q.w, http.StatusPreconditionFailed, models.ErrorResponseBody{
				Message: ptr("The dashboard has been changed by someone else"), Status: "version-mismatch"})
			return
		}
	} else {
		d = &Dashboard{ID: s.state.NewID(), UID: uid}
		o.Dashboards[uid] = d
	}
	stored := cloneJSON(model)
	delete(stored, "id")
	delete(stored, "version")
	stored["uid"] = uid
	d.Model, d.FolderUID = stored, body.FolderUID
	d.Version++
	writeJSON(q.w, http.StatusOK, models.PostDashboardOKBody{ID: ptr(d.ID), UID: ptr(uid), URL: ptr(dashboardURL(d)),
		Status: ptr("success"), Version: ptr(d.Version), Title: ptr(t), FolderUID: d.FolderUID})
}

func (s *Server) deleteDashboard(q *request) {
	o, d := s.dashboardFor(q, PermissionEdit)
	if d == nil {
		return
	}
	delete(o.Dashboards, d.UID)
	writeJSON(q.w, http.StatusOK, models.DeleteDashboardByUIDOKBody{UID: ptr(d.UID), Title: ptr(title(d)),
		Message: ptr("Dashboard " + title(d) + " deleted")})
}

// search is GET /api/search: the folders and dashboards the caller may
// view, folders first, each sorted by title. It filters by type
// (dash-folder, dash-db), folderUIDs, dashboardUIDs, query (title,
// case-insensitive), tag and limit.
func (s *Server) search(q *request) {
	o := q.org(s)
	v := q.r.URL.Query()
	kind := v.Get("type")
	if kind != "" && kind != "dash-folder" && kind != "dash-db" {
		writeError(q.w, http.StatusBadRequest, "type must be dash-folder or dash-db")
		return
	}
	folderUIDs, dashUIDs := listParam(v["folderUIDs"]), listParam(v["dashboardUIDs"])
	query, tags := strings.ToLower(v.Get("query")), v["tag"]
	limit := 1000
	if raw := v.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			writeError(q.w, http.StatusBadRequest, "limit is invalid")
			return
		}
		limit = n
	}
	var folders, dashboards models.HitList
	if kind != "dash-db" && len(dashUIDs) == 0 && len(folderUIDs) == 0 && len(tags) == 0 {
		for _, f := range o.Folders {
			if s.folderPermission(q, o, f) >= PermissionView && strings.Contains(strings.ToLower(f.Title), query) {
				folders = append(folders, &models.Hit{ID: f.ID, UID: f.UID, Title: f.Title, URI: "db/" + slugify(f.Title),
					URL: folderURL(f), Slug: slugify(f.Title), Type: "dash-folder", Tags: []string{}, OrgID: o.ID})
			}
		}
	}
	if kind != "dash-folder" {
		for _, d := range o.Dashboards {
			if s.dashboardPermission(q, o, d.FolderUID) < PermissionView || !strings.Contains(strings.ToLower(title(d)), query) ||
				(len(folderUIDs) > 0 && !folderUIDs[d.FolderUID]) || (len(dashUIDs) > 0 && !dashUIDs[d.UID]) || !hasTags(d, tags) {
				continue
			}
			h := &models.Hit{ID: d.ID, UID: d.UID, Title: title(d), URI: "db/" + slugify(title(d)), URL: dashboardURL(d),
				Slug: slugify(title(d)), Type: "dash-db", Tags: modelTags(d), OrgID: o.ID}
			if f := o.Folders[d.FolderUID]; f != nil {
				h.FolderID, h.FolderUID, h.FolderTitle, h.FolderURL = f.ID, f.UID, f.Title, folderURL(f)
			}
			dashboards = append(dashboards, h)
		}
	}
	for _, l := range []models.HitList{folders, dashboards} {
		sort.Slice(l, func(i, j int) bool { return l[i].Title < l[j].Title })
	}
	out := append(append(models.HitList{}, folders...), dashboards...)
	if len(out) > limit {
		out = out[:limit]
	}
	writeJSON(q.w, http.StatusOK, out)
}

// listParam reads a repeated or comma-separated query parameter.
func listParam(vals []string) map[string]bool {
	out := map[string]bool{}
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p != "" {
				out[p] = true
			}
		}
	}
	return out
}

func modelTags(d *Dashboard) []string {
	out := []string{}
	raw, _ := d.Model["tags"].([]any)
	for _, t := range raw {
		if s, ok := t.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func hasTags(d *Dashboard, want []string) bool {
	have := map[string]bool{}
	for _, t := range modelTags(d) {
		have[t] = true
	}
	for _, t := range want {
		if !have[t] {
			return false
		}
	}
	return true
}
