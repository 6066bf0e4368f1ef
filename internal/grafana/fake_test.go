package grafana

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// fakeGrafana is an in-memory Grafana that counts the writes made to it.
type fakeGrafana struct {
	users  map[string]User // by login and by email
	orgs   map[int64]*fakeOrg
	nextID int64
	writes []string
	// failFolder makes reads of this folder fail.
	failFolder string
}

type fakeOrg struct {
	name        string
	users       map[int64]OrgUser
	datasources map[string]Datasource
	folders     map[string]Folder
	perms       map[string][]Permission
	teams       map[int64]*fakeTeam
	dashboards  map[string]Dashboard
}

type fakeTeam struct {
	name    string
	members map[int64]bool
}

func newFake(logins ...string) *fakeGrafana {
	f := &fakeGrafana{users: map[string]User{}, orgs: map[int64]*fakeOrg{}, nextID: 100}
	f.orgs[1] = newFakeOrg("Main Org.")
	for _, l := range logins {
		f.nextID++
		u := User{ID: f.nextID, Login: l, Email: l + "@example.com"}
		f.users[u.Login], f.users[u.Email] = u, u
	}
	return f
}

func newFakeOrg(name string) *fakeOrg {
	return &fakeOrg{
		name:        name,
		users:       map[int64]OrgUser{},
		datasources: map[string]Datasource{},
		folders:     map[string]Folder{},
		perms:       map[string][]Permission{},
		teams:       map[int64]*fakeTeam{},
		dashboards:  map[string]Dashboard{},
	}
}

func (f *fakeGrafana) write(format string, args ...any) {
	f.writes = append(f.writes, fmt.Sprintf(format, args...))
}

func (f *fakeGrafana) resetWrites() { f.writes = nil }

func (f *fakeGrafana) org(id int64) (*fakeOrg, error) {
	o, ok := f.orgs[id]
	if !ok {
		return nil, fmt.Errorf("org %d: %w", id, ErrNotFound)
	}
	return o, nil
}

func (f *fakeGrafana) orgByName(name string) *fakeOrg {
	for _, o := range f.orgs {
		if o.name == name {
			return o
		}
	}
	return nil
}

func (f *fakeGrafana) LookupUser(_ context.Context, name string) (User, error) {
	u, ok := f.users[name]
	if !ok {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return u, nil
}

func (f *fakeGrafana) GetOrgByName(_ context.Context, name string) (Org, error) {
	for id, o := range f.orgs {
		if o.name == name {
			return Org{ID: id, Name: name}, nil
		}
	}
	return Org{}, fmt.Errorf("org %q: %w", name, ErrNotFound)
}

func (f *fakeGrafana) CreateOrg(_ context.Context, name string) (int64, error) {
	f.write("CreateOrg %s", name)
	f.nextID++
	f.orgs[f.nextID] = newFakeOrg(name)
	// Grafana makes the creating admin an Admin of the new organization.
	f.orgs[f.nextID].users[1] = OrgUser{UserID: 1, Login: "admin", Role: RoleAdmin}
	return f.nextID, nil
}

func (f *fakeGrafana) DeleteOrg(_ context.Context, id int64) error {
	f.write("DeleteOrg %d", id)
	if _, ok := f.orgs[id]; !ok {
		return ErrNotFound
	}
	delete(f.orgs, id)
	return nil
}

func (f *fakeGrafana) ListOrgUsers(_ context.Context, orgID int64) ([]OrgUser, error) {
	o, err := f.org(orgID)
	if err != nil {
		return nil, err
	}
	var out []OrgUser
	for _, u := range o.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

func (f *fakeGrafana) AddOrgUser(_ context.Context, orgID int64, name, role string) error {
	f.write("AddOrgUser %d %s", orgID, name)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	u, ok := f.users[name]
	if !ok {
		return ErrNotFound
	}
	o.users[u.ID] = OrgUser{UserID: u.ID, Login: u.Login, Role: role}
	return nil
}

func (f *fakeGrafana) RemoveOrgUser(_ context.Context, orgID, userID int64) error {
	f.write("RemoveOrgUser %d %d", orgID, userID)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	delete(o.users, userID)
	return nil
}

func (f *fakeGrafana) GetDatasource(_ context.Context, orgID int64, uid string) (Datasource, error) {
	o, err := f.org(orgID)
	if err != nil {
		return Datasource{}, err
	}
	ds, ok := o.datasources[uid]
	if !ok {
		return Datasource{}, ErrNotFound
	}
	// Like Grafana: secure values are never returned, only which are set.
	ds.SecureJSONFields = map[string]bool{}
	for k := range ds.SecureJSONData {
		ds.SecureJSONFields[k] = true
	}
	ds.SecureJSONData = nil
	return ds, nil
}

func (f *fakeGrafana) CreateDatasource(_ context.Context, orgID int64, ds Datasource) error {
	f.write("CreateDatasource %s", ds.UID)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	o.datasources[ds.UID] = ds
	return nil
}

func (f *fakeGrafana) UpdateDatasource(_ context.Context, orgID int64, ds Datasource) error {
	f.write("UpdateDatasource %s", ds.UID)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	// Like Grafana: secure values not sent are kept.
	secure := map[string]string{}
	for k, v := range o.datasources[ds.UID].SecureJSONData {
		secure[k] = v
	}
	for k, v := range ds.SecureJSONData {
		secure[k] = v
	}
	ds.SecureJSONData = secure
	o.datasources[ds.UID] = ds
	return nil
}

func (f *fakeGrafana) DeleteDatasource(_ context.Context, orgID int64, uid string) error {
	f.write("DeleteDatasource %s", uid)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	if _, ok := o.datasources[uid]; !ok {
		return ErrNotFound
	}
	delete(o.datasources, uid)
	return nil
}

func (f *fakeGrafana) GetFolder(_ context.Context, orgID int64, uid string) (Folder, error) {
	if uid == f.failFolder {
		return Folder{}, fmt.Errorf("injected failure")
	}
	o, err := f.org(orgID)
	if err != nil {
		return Folder{}, err
	}
	fo, ok := o.folders[uid]
	if !ok {
		return Folder{}, ErrNotFound
	}
	return fo, nil
}

func (f *fakeGrafana) CreateFolder(_ context.Context, orgID int64, fo Folder) (Folder, error) {
	f.write("CreateFolder %s", fo.UID)
	o, err := f.org(orgID)
	if err != nil {
		return Folder{}, err
	}
	fo.URL = "/dashboards/f/" + fo.UID + "/" + strings.ReplaceAll(fo.Title, " ", "-")
	o.folders[fo.UID] = fo
	// Grafana's defaults for a new folder: Editors edit, Viewers view.
	o.perms[fo.UID] = []Permission{{Role: RoleEditor, Permission: PermissionEdit}, {Role: RoleViewer, Permission: PermissionView}}
	return fo, nil
}

func (f *fakeGrafana) UpdateFolder(_ context.Context, orgID int64, fo Folder) error {
	f.write("UpdateFolder %s", fo.UID)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	cur := o.folders[fo.UID]
	cur.Title = fo.Title
	o.folders[fo.UID] = cur
	return nil
}

func (f *fakeGrafana) DeleteFolder(_ context.Context, orgID int64, uid string) error {
	f.write("DeleteFolder %s", uid)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	if _, ok := o.folders[uid]; !ok {
		return ErrNotFound
	}
	delete(o.folders, uid)
	delete(o.perms, uid)
	for duid, d := range o.dashboards {
		if d.FolderUID == uid {
			delete(o.dashboards, duid)
		}
	}
	return nil
}

func (f *fakeGrafana) GetFolderPermissions(_ context.Context, orgID int64, uid string) ([]Permission, error) {
	o, err := f.org(orgID)
	if err != nil {
		return nil, err
	}
	return append([]Permission(nil), o.perms[uid]...), nil
}

func (f *fakeGrafana) SetFolderPermissions(_ context.Context, orgID int64, uid string, perms []Permission) error {
	f.write("SetFolderPermissions %s", uid)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	o.perms[uid] = append([]Permission(nil), perms...)
	return nil
}

func (f *fakeGrafana) SearchTeams(_ context.Context, orgID int64, query string) ([]Team, error) {
	o, err := f.org(orgID)
	if err != nil {
		return nil, err
	}
	var out []Team
	for id, t := range o.teams {
		if strings.Contains(t.name, query) {
			out = append(out, Team{ID: id, Name: t.name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeGrafana) CreateTeam(_ context.Context, orgID int64, name string) (Team, error) {
	f.write("CreateTeam %s", name)
	o, err := f.org(orgID)
	if err != nil {
		return Team{}, err
	}
	f.nextID++
	// Grafana adds the creating user to the team.
	o.teams[f.nextID] = &fakeTeam{name: name, members: map[int64]bool{1: true}}
	return Team{ID: f.nextID, Name: name}, nil
}

func (f *fakeGrafana) DeleteTeam(_ context.Context, orgID, teamID int64) error {
	f.write("DeleteTeam %d", teamID)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	delete(o.teams, teamID)
	return nil
}

func (f *fakeGrafana) team(orgID, teamID int64) (*fakeTeam, error) {
	o, err := f.org(orgID)
	if err != nil {
		return nil, err
	}
	t, ok := o.teams[teamID]
	if !ok {
		return nil, ErrNotFound
	}
	return t, nil
}

func (f *fakeGrafana) ListTeamMembers(_ context.Context, orgID, teamID int64) ([]User, error) {
	t, err := f.team(orgID, teamID)
	if err != nil {
		return nil, err
	}
	var out []User
	for id := range t.members {
		out = append(out, User{ID: id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (f *fakeGrafana) AddTeamMember(_ context.Context, orgID, teamID, userID int64) error {
	f.write("AddTeamMember %d %d", teamID, userID)
	t, err := f.team(orgID, teamID)
	if err != nil {
		return err
	}
	t.members[userID] = true
	return nil
}

func (f *fakeGrafana) RemoveTeamMember(_ context.Context, orgID, teamID, userID int64) error {
	f.write("RemoveTeamMember %d %d", teamID, userID)
	t, err := f.team(orgID, teamID)
	if err != nil {
		return err
	}
	delete(t.members, userID)
	return nil
}

func (f *fakeGrafana) GetDashboard(_ context.Context, orgID int64, uid string) (Dashboard, error) {
	o, err := f.org(orgID)
	if err != nil {
		return Dashboard{}, err
	}
	d, ok := o.dashboards[uid]
	if !ok {
		return Dashboard{}, ErrNotFound
	}
	return Dashboard{FolderUID: d.FolderUID, Model: normalizeJSON(d.Model).(map[string]any)}, nil
}

func (f *fakeGrafana) UpsertDashboard(_ context.Context, orgID int64, d Dashboard) error {
	uid, _ := d.Model["uid"].(string)
	f.write("UpsertDashboard %s", uid)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	if _, ok := o.folders[d.FolderUID]; !ok {
		return fmt.Errorf("folder %q: %w", d.FolderUID, ErrNotFound)
	}
	m := normalizeJSON(d.Model).(map[string]any)
	// Grafana sets these itself.
	version, _ := o.dashboards[uid].Model["version"].(float64)
	m["id"], m["version"] = float64(len(o.dashboards)+1), version+1
	o.dashboards[uid] = Dashboard{FolderUID: d.FolderUID, Model: m}
	return nil
}

func (f *fakeGrafana) DeleteDashboard(_ context.Context, orgID int64, uid string) error {
	f.write("DeleteDashboard %s", uid)
	o, err := f.org(orgID)
	if err != nil {
		return err
	}
	delete(o.dashboards, uid)
	return nil
}
