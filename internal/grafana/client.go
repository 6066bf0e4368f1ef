package grafana

import (
	"context"
	"errors"
)

// ErrNotFound is returned, wrapped, by every Client read of an object that
// does not exist.
var ErrNotFound = errors.New("not found")

// Permission levels of Grafana's folder and dashboard ACLs.
const (
	PermissionView  int64 = 1
	PermissionEdit  int64 = 2
	PermissionAdmin int64 = 4
)

// Org roles.
const (
	RoleViewer = "Viewer"
	RoleEditor = "Editor"
	RoleAdmin  = "Admin"
)

// Client is the part of Grafana's HTTP API that Canopy uses. It is
// deliberately thin: each method is one request, reads and writes are
// separate, and every decision (what differs, what to write) lives in the
// Provisioner, where a fake can test it. Methods scoped to an organization
// take its id and send it as the X-Grafana-Org-Id header.
type Client interface {
	// LookupUser finds a user by login or email, across the server.
	LookupUser(ctx context.Context, loginOrEmail string) (User, error)

	GetOrgByName(ctx context.Context, name string) (Org, error)
	// CreateOrg returns the new organization's id.
	CreateOrg(ctx context.Context, name string) (int64, error)
	DeleteOrg(ctx context.Context, orgID int64) error
	ListOrgUsers(ctx context.Context, orgID int64) ([]OrgUser, error)
	AddOrgUser(ctx context.Context, orgID int64, loginOrEmail, role string) error
	RemoveOrgUser(ctx context.Context, orgID, userID int64) error

	GetDatasource(ctx context.Context, orgID int64, uid string) (Datasource, error)
	CreateDatasource(ctx context.Context, orgID int64, ds Datasource) error
	UpdateDatasource(ctx context.Context, orgID int64, ds Datasource) error
	DeleteDatasource(ctx context.Context, orgID int64, uid string) error

	GetFolder(ctx context.Context, orgID int64, uid string) (Folder, error)
	CreateFolder(ctx context.Context, orgID int64, f Folder) (Folder, error)
	// UpdateFolder renames a folder, overwriting whatever version it has.
	UpdateFolder(ctx context.Context, orgID int64, f Folder) error
	// DeleteFolder also deletes the dashboards in it.
	DeleteFolder(ctx context.Context, orgID int64, uid string) error
	// GetFolderPermissions returns the folder's own entries; inherited ones
	// are left out.
	GetFolderPermissions(ctx context.Context, orgID int64, uid string) ([]Permission, error)
	// SetFolderPermissions replaces the folder's whole permission set.
	SetFolderPermissions(ctx context.Context, orgID int64, uid string, perms []Permission) error

	// SearchTeams lists the teams whose name contains query.
	SearchTeams(ctx context.Context, orgID int64, query string) ([]Team, error)
	CreateTeam(ctx context.Context, orgID int64, name string) (Team, error)
	DeleteTeam(ctx context.Context, orgID, teamID int64) error
	ListTeamMembers(ctx context.Context, orgID, teamID int64) ([]User, error)
	AddTeamMember(ctx context.Context, orgID, teamID, userID int64) error
	RemoveTeamMember(ctx context.Context, orgID, teamID, userID int64) error

	// GetDashboard returns the stored model and the folder holding it.
	GetDashboard(ctx context.Context, orgID int64, uid string) (Dashboard, error)
	// UpsertDashboard creates or overwrites the dashboard with the model's uid.
	UpsertDashboard(ctx context.Context, orgID int64, d Dashboard) error
	DeleteDashboard(ctx context.Context, orgID int64, uid string) error
}

// User is a Grafana user.
type User struct {
	ID    int64
	Login string
	Email string
}

// Org is a Grafana organization.
type Org struct {
	ID   int64
	Name string
}

// OrgUser is a user's membership of an organization.
type OrgUser struct {
	UserID int64
	Login  string
	Role   string
}

// Datasource is the subset of a datasource Canopy sets.
type Datasource struct {
	UID       string
	Name      string
	Type      string
	URL       string
	Access    string
	IsDefault bool
	JSONData  map[string]any
	// SecureJSONData is written only: Grafana encrypts it and never
	// returns it, not even to organization Admins.
	SecureJSONData map[string]string
	// SecureJSONFields, read back, names the SecureJSONData keys that are
	// set.
	SecureJSONFields map[string]bool
}

// Folder is a dashboard folder.
type Folder struct {
	UID   string
	Title string
	// URL is the folder's path on the Grafana server, such as
	// "/dashboards/f/<uid>/<slug>".
	URL string
}

// Permission is one entry of a folder's ACL: exactly one of TeamID, UserID
// and Role says who it is for.
type Permission struct {
	TeamID     int64
	UserID     int64
	Role       string
	Permission int64
}

// Team is a Grafana team.
type Team struct {
	ID   int64
	Name string
}

// Dashboard is a dashboard model and its folder.
type Dashboard struct {
	FolderUID string
	// Model is the dashboard JSON, as decoded by encoding/json.
	Model map[string]any
}
