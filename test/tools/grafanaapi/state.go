package grafanaapi

import (
	"encoding/json"
	"sort"
	"strings"
)

// Org roles, in increasing order of power: each includes the ones before.
const (
	RoleViewer = "Viewer"
	RoleEditor = "Editor"
	RoleAdmin  = "Admin"
)

// Permission levels of folder ACLs.
const (
	PermissionView  int64 = 1
	PermissionEdit  int64 = 2
	PermissionAdmin int64 = 4
)

// MainOrgID is Grafana's default organization, which always exists.
const MainOrgID int64 = 1

// State is everything the double holds. Tests read it through
// Server.View and change it behind the API's back (drift) through
// Server.Edit; both hold the server's lock while the function runs.
type State struct {
	Users map[int64]*User
	Orgs  map[int64]*Org
	// Tokens are service-account tokens, each bound to one organization.
	Tokens map[string]Token
	nextID int64
}

// User is a Grafana user. ServerAdmin is Grafana's "Grafana Admin" flag.
type User struct {
	ID                 int64
	Login, Email, Name string
	Password           string
	ServerAdmin        bool
}

// Token is a service-account token: its organization and role there.
type Token struct {
	OrgID int64
	Role  string
}

// Org is an organization and everything in it.
type Org struct {
	ID   int64
	Name string
	// Members maps a user's id to its role in the organization.
	Members     map[int64]string
	Datasources map[string]*Datasource // by uid
	Folders     map[string]*Folder     // by uid
	Teams       map[int64]*Team        // by id
	Dashboards  map[string]*Dashboard  // by uid
}

// Datasource is a data source. SecureJSONData is stored but never sent.
type Datasource struct {
	ID                   int64
	UID, Name, Type, URL string
	Access               string
	IsDefault            bool
	JSONData             map[string]any
	SecureJSONData       map[string]string
	Version              int64
}

// Folder is a dashboard folder with its own ACL.
type Folder struct {
	ID          int64
	UID, Title  string
	Version     int64
	Permissions []Permission
}

// Permission is one ACL entry: exactly one of TeamID, UserID and Role.
type Permission struct {
	TeamID     int64
	UserID     int64
	Role       string
	Permission int64
}

// Team is a team; Members maps a user id to its team permission (0 for a
// member, 4 for a team admin).
type Team struct {
	ID      int64
	Name    string
	Members map[int64]int64
}

// Dashboard is a stored dashboard. Model is the free-form JSON as decoded
// by encoding/json, without id and version, which the double adds on read.
type Dashboard struct {
	ID        int64
	UID       string
	FolderUID string
	Version   int64
	Model     map[string]any
}

func newState(adminLogin, adminPassword string) *State {
	st := &State{Users: map[int64]*User{}, Orgs: map[int64]*Org{}, Tokens: map[string]Token{}, nextID: 1}
	st.Users[1] = &User{ID: 1, Login: adminLogin, Email: "admin@localhost", Name: adminLogin, Password: adminPassword, ServerAdmin: true}
	main := newOrg(MainOrgID, "Main Org.")
	main.Members[1] = RoleAdmin
	st.Orgs[MainOrgID] = main
	return st
}

func newOrg(id int64, name string) *Org {
	return &Org{ID: id, Name: name, Members: map[int64]string{}, Datasources: map[string]*Datasource{},
		Folders: map[string]*Folder{}, Teams: map[int64]*Team{}, Dashboards: map[string]*Dashboard{}}
}

// NewID hands out the next id; ids are unique across every kind of object.
func (st *State) NewID() int64 {
	st.nextID++
	return st.nextID
}

// OrgByName returns the organization with this name, or nil.
func (st *State) OrgByName(name string) *Org {
	for _, o := range st.Orgs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// UserByLogin returns the user with this login or email, or nil.
func (st *State) UserByLogin(loginOrEmail string) *User {
	for _, u := range st.Users {
		if strings.EqualFold(u.Login, loginOrEmail) || strings.EqualFold(u.Email, loginOrEmail) {
			return u
		}
	}
	return nil
}

// OrgNames lists every organization's name, sorted.
func (st *State) OrgNames() []string {
	out := make([]string, 0, len(st.Orgs))
	for _, o := range st.Orgs {
		out = append(out, o.Name)
	}
	sort.Strings(out)
	return out
}

// TeamByName returns the team with exactly this name, or nil.
func (o *Org) TeamByName(name string) *Team {
	for _, t := range o.Teams {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// FolderUIDs lists the organization's folder UIDs, sorted.
func (o *Org) FolderUIDs() []string { return sortedKeys(o.Folders) }

// DashboardUIDs lists the organization's dashboard UIDs, sorted.
func (o *Org) DashboardUIDs() []string { return sortedKeys(o.Dashboards) }

// MemberIDs lists the team's member ids, sorted.
func (t *Team) MemberIDs() []int64 {
	out := make([]int64, 0, len(t.Members))
	for id := range t.Members {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// roleIncludes reports whether a holder of role has what want grants:
// Admin includes Editor, which includes Viewer.
func roleIncludes(role, want string) bool {
	return roleRank(role) >= roleRank(want) && roleRank(want) > 0
}

func roleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

func validRole(role string) bool { return roleRank(role) > 0 }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// cloneJSON deep-copies a JSON value through encoding/json, so nothing a
// caller holds aliases the stored state.
func cloneJSON[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only JSON-decoded values are stored
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
