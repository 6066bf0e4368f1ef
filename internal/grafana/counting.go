package grafana

import "context"

// countingClient counts the write calls a sync makes, so the Result can say
// whether anything drifted; reads pass through the embedded Client.
type countingClient struct {
	Client
	writes int
}

func (c *countingClient) CreateOrg(ctx context.Context, name string) (int64, error) {
	c.writes++
	return c.Client.CreateOrg(ctx, name)
}

func (c *countingClient) DeleteOrg(ctx context.Context, orgID int64) error {
	c.writes++
	return c.Client.DeleteOrg(ctx, orgID)
}

func (c *countingClient) AddOrgUser(ctx context.Context, orgID int64, loginOrEmail, role string) error {
	c.writes++
	return c.Client.AddOrgUser(ctx, orgID, loginOrEmail, role)
}

func (c *countingClient) RemoveOrgUser(ctx context.Context, orgID, userID int64) error {
	c.writes++
	return c.Client.RemoveOrgUser(ctx, orgID, userID)
}

func (c *countingClient) CreateDatasource(ctx context.Context, orgID int64, ds Datasource) error {
	c.writes++
	return c.Client.CreateDatasource(ctx, orgID, ds)
}

func (c *countingClient) UpdateDatasource(ctx context.Context, orgID int64, ds Datasource) error {
	c.writes++
	return c.Client.UpdateDatasource(ctx, orgID, ds)
}

func (c *countingClient) DeleteDatasource(ctx context.Context, orgID int64, uid string) error {
	c.writes++
	return c.Client.DeleteDatasource(ctx, orgID, uid)
}

func (c *countingClient) CreateFolder(ctx context.Context, orgID int64, f Folder) (Folder, error) {
	c.writes++
	return c.Client.CreateFolder(ctx, orgID, f)
}

func (c *countingClient) UpdateFolder(ctx context.Context, orgID int64, f Folder) error {
	c.writes++
	return c.Client.UpdateFolder(ctx, orgID, f)
}

func (c *countingClient) DeleteFolder(ctx context.Context, orgID int64, uid string) error {
	c.writes++
	return c.Client.DeleteFolder(ctx, orgID, uid)
}

func (c *countingClient) SetFolderPermissions(ctx context.Context, orgID int64, uid string, perms []Permission) error {
	c.writes++
	return c.Client.SetFolderPermissions(ctx, orgID, uid, perms)
}

func (c *countingClient) CreateTeam(ctx context.Context, orgID int64, name string) (Team, error) {
	c.writes++
	return c.Client.CreateTeam(ctx, orgID, name)
}

func (c *countingClient) DeleteTeam(ctx context.Context, orgID, teamID int64) error {
	c.writes++
	return c.Client.DeleteTeam(ctx, orgID, teamID)
}

func (c *countingClient) AddTeamMember(ctx context.Context, orgID, teamID, userID int64) error {
	c.writes++
	return c.Client.AddTeamMember(ctx, orgID, teamID, userID)
}

func (c *countingClient) RemoveTeamMember(ctx context.Context, orgID, teamID, userID int64) error {
	c.writes++
	return c.Client.RemoveTeamMember(ctx, orgID, teamID, userID)
}

func (c *countingClient) UpsertDashboard(ctx context.Context, orgID int64, d Dashboard) error {
	c.writes++
	return c.Client.UpsertDashboard(ctx, orgID, d)
}

func (c *countingClient) DeleteDashboard(ctx context.Context, orgID int64, uid string) error {
	c.writes++
	return c.Client.DeleteDashboard(ctx, orgID, uid)
}
