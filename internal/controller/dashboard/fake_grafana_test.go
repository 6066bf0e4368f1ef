package dashboard

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/canopyhq/canopy/internal/grafana"
)

// memGrafana is an in-memory grafana.Client. It counts writes, and while
// down every call fails as a refused connection would.
type memGrafana struct {
	mu     sync.Mutex
	down   bool
	writes int
	nextID int64
	users  map[string]grafana.User
	orgs   map[int64]*memOrg
}

type memOrg struct {
	name        string
	users       map[int64]string // user id -> role
	datasources map[string]grafana.Datasource
	folders     map[string]grafana.Folder
	perms       map[string][]grafana.Permission
	teams       map[int64]string
	members     map[int64]map[int64]bool
	dashboards  map[string]grafana.Dashboard
}

var _ grafana.Client = (*memGrafana)(nil)

func newMemGrafana(logins ...string) *memGrafana {
	g := &memGrafana{nextID: 100, users: map[string]grafana.User{}, orgs: map[int64]*memOrg{}}
	for _, l := range logins {
		g.nextID++
		g.users[l] = grafana.User{ID: g.nextID, Login: l, Email: l + "@example.com"}
	}
	g.orgs[1] = newMemOrg("Main Org.")
	return g
}

func newMemOrg(name string) *memOrg {
	return &memOrg{
		name: name, users: map[int64]string{}, datasources: map[string]grafana.Datasource{},
		folders: map[string]grafana.Folder{}, perms: map[string][]grafana.Permission{},
		teams: map[int64]string{}, members: map[int64]map[int64]bool{}, dashboards: map[string]grafana.Dashboard{},
	}
}

func (g *memGrafana) setDown(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
}

func (g *memGrafana) writeCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes
}

func (g *memGrafana) orgNames() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, o := range g.orgs {
		out = append(out, o.name)
	}
	slices.Sort(out)
	return out
}

// call starts a call: it locks, fails while down and counts writes.
func (g *memGrafana) call(write bool) (func(), error) {
	g.mu.Lock()
	if g.down {
		g.mu.Unlock()
		return nil, &url.Error{Op: "Get", URL: "http://grafana.test/api", Err: errors.New("connect: connection refused")}
	}
	if write {
		g.writes++
	}
	return g.mu.Unlock, nil
}

func (g *memGrafana) org(id int64) (*memOrg, error) {
	o, ok := g.orgs[id]
	if !ok {
		return nil, fmt.Errorf("org %d: %w", id, grafana.ErrNotFound)
	}
	return o, nil
}

func (g *memGrafana) LookupUser(_ context.Context, name string) (grafana.User, error) {
	done, err := g.call(false)
	if err != nil {
		return grafana.User{}, err
	}
	defer done()
	for _, u := range g.users {
		if u.Login == name || u.Email == name {
			return u, nil
		}
	}
	return grafana.User{}, fmt.Errorf("user %q: %w", name, grafana.ErrNotFound)
}

func (g *memGrafana) GetOrgByName(_ context.Context, name string) (grafana.Org, error) {
	done, err := g.call(false)
	if err != nil {
		return grafana.Org{}, err
	}
	defer done()
	for id, o := range g.orgs {
		if o.name == name {
			return grafana.Org{ID: id, Name: name}, nil
		}
	}
	return grafana.Org{}, fmt.Errorf("org %q: %w", name, grafana.ErrNotFound)
}

func (g *memGrafana) CreateOrg(_ context.Context, name string) (int64, error) {
	done, err := g.call(true)
	if err != nil {
		return 0, err
	}
	defer done()
	g.nextID++
	g.orgs[g.nextID] = newMemOrg(name)
	return g.nextID, nil
}

func (g *memGrafana) DeleteOrg(_ context.Context, id int64) error {
	done, err := g.call(true)
	if err != nil {
		return err
	}
	defer done()
	if _, err := g.org(id); err != nil {
		return err
	}
	delete(g.orgs, id)
	return nil
}

func (g *memGrafana) ListOrgUsers(_ context.Context, orgID int64) ([]grafana.OrgUser, error) {
	done, err := g.call(false)
	if err != nil {
		return nil, err
	}
	defer done()
	o, err := g.org(orgID)
	if err != nil {
		return nil, err
	}
	var out []grafana.OrgUser
	for _, id := range slices.Sorted(maps.Keys(o.users)) {
		login := ""
		for _, u := range g.users {
			if u.ID == id {
				login = u.Login
			}
		}
		out = append(out, grafana.OrgUser{UserID: id, Login: login, Role: o.users[id]})
	}
	return out, nil
}

func (g *memGrafana) AddOrgUser(_ context.Context, orgID int64, name, role string) error {
	done, err := g.call(true)
	if err != nil {
		return err
	}
	defer done()
	o, err := g.org(orgID)
	if err != nil {
		return err
	}
	for _, u := range g.users {
		if u.Login == name || u.Email == name {
			o.users[u.ID] = role
			return nil
		}
	}
	return fmt.Errorf("user %q: %w", name, grafana.ErrNotFound)
}

func (g *memGrafana) RemoveOrgUser(_ context.Context, orgID, userID int64) error {
	return g.mutate(orgID, func(o *memOrg) error { delete(o.users, userID); return nil })
}

// mutate runs one write against an organization.
func (g *memGrafana) mutate(orgID int64, fn func(*memOrg) error) error {
	done, err := g.call(true)
	if err != nil {
		return err
	}
	defer done()
	o, err := g.org(orgID)
	if err != nil {
		return err
	}
	return fn(o)
}

// read runs one read against an organization.
func (g *memGrafana) read(orgID int64, fn func(*memOrg) error) error {
	done, err := g.call(false)
	if err != nil {
		return err
	}
	defer done()
	o, err := g.org(orgID)
	if err != nil {
		return err
	}
	return fn(o)
}

func (g *memGrafana) GetDatasource(_ context.Context, orgID int64, uid string) (ds grafana.Datasource, err error) {
	err = g.read(orgID, func(o *memOrg) error {
		var ok bool
		if ds, ok = o.datasources[uid]; !ok {
			return fmt.Errorf("datasource %q: %w", uid, grafana.ErrNotFound)
		}
		return nil
	})
	return ds, err
}

func (g *memGrafana) CreateDatasource(_ context.Context, orgID int64, ds grafana.Datasource) error {
	return g.mutate(orgID, func(o *memOrg) error { o.datasources[ds.UID] = ds; return nil })
}

func (g *memGrafana) UpdateDatasource(_ context.Context, orgID int64, ds grafana.Datasource) error {
	return g.mutate(orgID, func(o *memOrg) error { o.datasources[ds.UID] = ds; return nil })
}

func (g *memGrafana) DeleteDatasource(_ context.Context, orgID int64, uid string) error {
	return g.mutate(orgID, func(o *memOrg) error {
		if _, ok := o.datasources[uid]; !ok {
			return fmt.Errorf("datasource %q: %w", uid, grafana.ErrNotFound)
		}
		delete(o.datasources, uid)
		return nil
	})
}

func (g *memGrafana) GetFolder(_ context.Context, orgID int64, uid string) (f grafana.Folder, err error) {
	err = g.read(orgID, func(o *memOrg) error {
		var ok bool
		if f, ok = o.folders[uid]; !ok {
			return fmt.Errorf("folder %q: %w", uid, grafana.ErrNotFound)
		}
		return nil
	})
	return f, err
}

func (g *memGrafana) CreateFolder(_ context.Context, orgID int64, f grafana.Folder) (grafana.Folder, error) {
	f.URL = "/dashboards/f/" + f.UID + "/" + strings.ToLower(strings.ReplaceAll(f.Title, " ", "-"))
	return f, g.mutate(orgID, func(o *memOrg) error { o.folders[f.UID] = f; return nil })
}

func (g *memGrafana) UpdateFolder(_ context.Context, orgID int64, f grafana.Folder) error {
	return g.mutate(orgID, func(o *memOrg) error {
		old, ok := o.folders[f.UID]
		if !ok {
			return fmt.Errorf("folder %q: %w", f.UID, grafana.ErrNotFound)
		}
		old.Title = f.Title
		o.folders[f.UID] = old
		return nil
	})
}

func (g *memGrafana) DeleteFolder(_ context.Context, orgID int64, uid string) error {
	return g.mutate(orgID, func(o *memOrg) error {
		if _, ok := o.folders[uid]; !ok {
			return fmt.Errorf("folder %q: %w", uid, grafana.ErrNotFound)
		}
		delete(o.folders, uid)
		delete(o.perms, uid)
		for k, d := range o.dashboards {
			if d.FolderUID == uid {
				delete(o.dashboards, k)
			}
		}
		return nil
	})
}

func (g *memGrafana) GetFolderPermissions(_ context.Context, orgID int64, uid string) (p []grafana.Permission, err error) {
	err = g.read(orgID, func(o *memOrg) error { p = slices.Clone(o.perms[uid]); return nil })
	return p, err
}

func (g *memGrafana) SetFolderPermissions(_ context.Context, orgID int64, uid string, perms []grafana.Permission) error {
	return g.mutate(orgID, func(o *memOrg) error { o.perms[uid] = slices.Clone(perms); return nil })
}

func (g *memGrafana) SearchTeams(_ context.Context, orgID int64, query string) (out []grafana.Team, err error) {
	err = g.read(orgID, func(o *memOrg) error {
		for _, id := range slices.Sorted(maps.Keys(o.teams)) {
			if strings.Contains(o.teams[id], query) {
				out = append(out, grafana.Team{ID: id, Name: o.teams[id]})
			}
		}
		return nil
	})
	return out, err
}

func (g *memGrafana) CreateTeam(_ context.Context, orgID int64, name string) (t grafana.Team, err error) {
	err = g.mutate(orgID, func(o *memOrg) error {
		g.nextID++
		o.teams[g.nextID] = name
		o.members[g.nextID] = map[int64]bool{}
		t = grafana.Team{ID: g.nextID, Name: name}
		return nil
	})
	return t, err
}

func (g *memGrafana) DeleteTeam(_ context.Context, orgID, teamID int64) error {
	return g.mutate(orgID, func(o *memOrg) error { delete(o.teams, teamID); delete(o.members, teamID); return nil })
}

func (g *memGrafana) ListTeamMembers(_ context.Context, orgID, teamID int64) (out []grafana.User, err error) {
	err = g.read(orgID, func(o *memOrg) error {
		for _, u := range g.users {
			if o.members[teamID][u.ID] {
				out = append(out, u)
			}
		}
		slices.SortFunc(out, func(a, b grafana.User) int { return int(a.ID - b.ID) })
		return nil
	})
	return out, err
}

func (g *memGrafana) AddTeamMember(_ context.Context, orgID, teamID, userID int64) error {
	return g.mutate(orgID, func(o *memOrg) error { o.members[teamID][userID] = true; return nil })
}

func (g *memGrafana) RemoveTeamMember(_ context.Context, orgID, teamID, userID int64) error {
	return g.mutate(orgID, func(o *memOrg) error { delete(o.members[teamID], userID); return nil })
}

func (g *memGrafana) GetDashboard(_ context.Context, orgID int64, uid string) (d grafana.Dashboard, err error) {
	err = g.read(orgID, func(o *memOrg) error {
		var ok bool
		if d, ok = o.dashboards[uid]; !ok {
			return fmt.Errorf("dashboard %q: %w", uid, grafana.ErrNotFound)
		}
		return nil
	})
	return d, err
}

func (g *memGrafana) UpsertDashboard(_ context.Context, orgID int64, d grafana.Dashboard) error {
	uid, _ := d.Model["uid"].(string)
	return g.mutate(orgID, func(o *memOrg) error { o.dashboards[uid] = d; return nil })
}

func (g *memGrafana) DeleteDashboard(_ context.Context, orgID int64, uid string) error {
	return g.mutate(orgID, func(o *memOrg) error { delete(o.dashboards, uid); return nil })
}

// folderUIDs lists the folders of the organization named org, sorted.
func (g *memGrafana) folderUIDs(org string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, o := range g.orgs {
		if o.name == org {
			return slices.Sorted(maps.Keys(o.folders))
		}
	}
	return nil
}
