package crddelete

import (
	"context"
	"fmt"
	"sync"

	"github.com/canopyhq/canopy/internal/grafana"
)

// grafanaDouble is an in-memory Grafana holding organizations, enough for
// the dashboard controller to provision a tenant's organization and to
// show whether anything deleted it. Objects inside organizations are
// accepted and forgotten.
type grafanaDouble struct {
	mu      sync.Mutex
	orgs    map[string]int64
	next    int64
	deletes []string
}

func newGrafanaDouble() *grafanaDouble {
	return &grafanaDouble{orgs: map[string]int64{"Main Org.": 1}, next: 2}
}

// org reports whether an organization of that name exists, and every
// delete call the double received.
func (g *grafanaDouble) org(name string) (bool, []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.orgs[name]
	return ok, append([]string(nil), g.deletes...)
}

func (g *grafanaDouble) deleted(what string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deletes = append(g.deletes, what)
}

func (g *grafanaDouble) LookupUser(context.Context, string) (grafana.User, error) {
	return grafana.User{}, grafana.ErrNotFound
}

func (g *grafanaDouble) GetOrgByName(_ context.Context, name string) (grafana.Org, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id, ok := g.orgs[name]
	if !ok {
		return grafana.Org{}, grafana.ErrNotFound
	}
	return grafana.Org{ID: id, Name: name}, nil
}

func (g *grafanaDouble) CreateOrg(_ context.Context, name string) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if id, ok := g.orgs[name]; ok {
		return id, nil
	}
	g.orgs[name] = g.next
	g.next++
	return g.orgs[name], nil
}

func (g *grafanaDouble) DeleteOrg(_ context.Context, id int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for name, oid := range g.orgs {
		if oid == id {
			delete(g.orgs, name)
		}
	}
	g.deletes = append(g.deletes, fmt.Sprintf("org %d", id))
	return nil
}

func (g *grafanaDouble) ListOrgUsers(context.Context, int64) ([]grafana.OrgUser, error) {
	return nil, nil
}
func (g *grafanaDouble) AddOrgUser(context.Context, int64, string, string) error { return nil }
func (g *grafanaDouble) RemoveOrgUser(context.Context, int64, int64) error       { return nil }
func (g *grafanaDouble) GetDatasource(context.Context, int64, string) (grafana.Datasource, error) {
	return grafana.Datasource{}, grafana.ErrNotFound
}
func (g *grafanaDouble) CreateDatasource(context.Context, int64, grafana.Datasource) error {
	return nil
}
func (g *grafanaDouble) UpdateDatasource(context.Context, int64, grafana.Datasource) error {
	return nil
}
func (g *grafanaDouble) DeleteDatasource(_ context.Context, _ int64, uid string) error {
	g.deleted("datasource " + uid)
	return nil
}
func (g *grafanaDouble) GetFolder(context.Context, int64, string) (grafana.Folder, error) {
	return grafana.Folder{}, grafana.ErrNotFound
}
func (g *grafanaDouble) CreateFolder(_ context.Context, _ int64, f grafana.Folder) (grafana.Folder, error) {
	return f, nil
}
func (g *grafanaDouble) UpdateFolder(context.Context, int64, grafana.Folder) error { return nil }
func (g *grafanaDouble) DeleteFolder(_ context.Context, _ int64, uid string) error {
	g.deleted("folder " + uid)
	return nil
}
func (g *grafanaDouble) GetFolderPermissions(context.Context, int64, string) ([]grafana.Permission, error) {
	return nil, nil
}
func (g *grafanaDouble) SetFolderPermissions(context.Context, int64, string, []grafana.Permission) error {
	return nil
}
func (g *grafanaDouble) SearchTeams(context.Context, int64, string) ([]grafana.Team, error) {
	return nil, nil
}
func (g *grafanaDouble) CreateTeam(_ context.Context, _ int64, name string) (grafana.Team, error) {
	return grafana.Team{ID: 1, Name: name}, nil
}
func (g *grafanaDouble) DeleteTeam(_ context.Context, _ int64, id int64) error {
	g.deleted(fmt.Sprintf("team %d", id))
	return nil
}
func (g *grafanaDouble) ListTeamMembers(context.Context, int64, int64) ([]grafana.User, error) {
	return nil, nil
}
func (g *grafanaDouble) AddTeamMember(context.Context, int64, int64, int64) error    { return nil }
func (g *grafanaDouble) RemoveTeamMember(context.Context, int64, int64, int64) error { return nil }
func (g *grafanaDouble) GetDashboard(context.Context, int64, string) (grafana.Dashboard, error) {
	return grafana.Dashboard{}, grafana.ErrNotFound
}
func (g *grafanaDouble) UpsertDashboard(context.Context, int64, grafana.Dashboard) error { return nil }
func (g *grafanaDouble) DeleteDashboard(_ context.Context, _ int64, uid string) error {
	g.deleted("dashboard " + uid)
	return nil
}
