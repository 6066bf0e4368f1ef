package grafana

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-openapi-client-go/client/dashboards"
	"github.com/grafana/grafana-openapi-client-go/client/folders"
	"github.com/grafana/grafana-openapi-client-go/client/teams"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// GetFolder calls GET /api/folders/:uid.
func (c *OpenAPIClient) GetFolder(ctx context.Context, orgID int64, uid string) (Folder, error) {
	resp, err := c.api.Folders.GetFolderByUIDWithParams(
		folders.NewGetFolderByUIDParamsWithContext(ctx).WithFolderUID(uid), c.inOrg(orgID))
	if err != nil {
		return Folder{}, apiError(err, "reading folder %q", uid)
	}
	return Folder{UID: resp.Payload.UID, Title: resp.Payload.Title, URL: resp.Payload.URL}, nil
}

// CreateFolder calls POST /api/folders.
func (c *OpenAPIClient) CreateFolder(ctx context.Context, orgID int64, f Folder) (Folder, error) {
	resp, err := c.api.Folders.CreateFolderWithParams(folders.NewCreateFolderParamsWithContext(ctx).
		WithBody(&models.CreateFolderCommand{UID: f.UID, Title: f.Title}), c.inOrg(orgID))
	if err != nil {
		return Folder{}, apiError(err, "creating folder %q", f.UID)
	}
	return Folder{UID: resp.Payload.UID, Title: resp.Payload.Title, URL: resp.Payload.URL}, nil
}

// UpdateFolder calls PUT /api/folders/:uid with overwrite set.
func (c *OpenAPIClient) UpdateFolder(ctx context.Context, orgID int64, f Folder) error {
	_, err := c.api.Folders.UpdateFolderWithParams(folders.NewUpdateFolderParamsWithContext(ctx).
		WithFolderUID(f.UID).WithBody(&models.UpdateFolderCommand{Title: f.Title, Overwrite: true}), c.inOrg(orgID))
	return apiError(err, "updating folder %q", f.UID)
}

// DeleteFolder calls DELETE /api/folders/:uid, which deletes its dashboards.
func (c *OpenAPIClient) DeleteFolder(ctx context.Context, orgID int64, uid string) error {
	_, err := c.api.Folders.DeleteFolder(
		folders.NewDeleteFolderParamsWithContext(ctx).WithFolderUID(uid), c.inOrg(orgID))
	return apiError(err, "deleting folder %q", uid)
}

// GetFolderPermissions calls GET /api/folders/:uid/permissions.
func (c *OpenAPIClient) GetFolderPermissions(ctx context.Context, orgID int64, uid string) ([]Permission, error) {
	resp, err := c.api.Folders.GetFolderPermissionListWithParams(
		folders.NewGetFolderPermissionListParamsWithContext(ctx).WithFolderUID(uid), c.inOrg(orgID))
	if err != nil {
		return nil, apiError(err, "reading permissions of folder %q", uid)
	}
	out := make([]Permission, 0, len(resp.Payload))
	for _, p := range resp.Payload {
		if p == nil || p.Inherited {
			continue
		}
		out = append(out, Permission{TeamID: p.TeamID, UserID: p.UserID, Role: p.Role, Permission: int64(p.Permission)})
	}
	return out, nil
}

// SetFolderPermissions calls POST /api/folders/:uid/permissions, which
// replaces the whole set.
func (c *OpenAPIClient) SetFolderPermissions(ctx context.Context, orgID int64, uid string, perms []Permission) error {
	items := make([]*models.DashboardACLUpdateItem, 0, len(perms))
	for _, p := range perms {
		items = append(items, &models.DashboardACLUpdateItem{TeamID: p.TeamID, UserID: p.UserID, Role: p.Role,
			Permission: models.PermissionType(p.Permission)})
	}
	_, err := c.api.Folders.UpdateFolderPermissionsWithParams(folders.NewUpdateFolderPermissionsParamsWithContext(ctx).
		WithFolderUID(uid).WithBody(&models.UpdateDashboardACLCommand{Items: items}), c.inOrg(orgID))
	return apiError(err, "setting permissions of folder %q", uid)
}

// searchPageSize is how many teams one search page returns; a tenant has
// far fewer teams than this, and further pages are read if not.
const searchPageSize = 1000

// SearchTeams calls GET /api/teams/search?query=, page by page.
func (c *OpenAPIClient) SearchTeams(ctx context.Context, orgID int64, query string) ([]Team, error) {
	var out []Team
	perPage := int64(searchPageSize)
	for page := int64(1); ; page++ {
		resp, err := c.api.Teams.SearchTeams(teams.NewSearchTeamsParamsWithContext(ctx).
			WithQuery(&query).WithPerpage(&perPage).WithPage(&page), c.inOrg(orgID))
		if err != nil {
			return nil, apiError(err, "searching teams %q", query)
		}
		for _, t := range resp.Payload.Teams {
			if t == nil || t.ID == nil || t.Name == nil {
				continue
			}
			out = append(out, Team{ID: *t.ID, Name: *t.Name})
		}
		if len(resp.Payload.Teams) < searchPageSize || int64(len(out)) >= resp.Payload.TotalCount {
			return out, nil
		}
	}
}

// CreateTeam calls POST /api/teams.
func (c *OpenAPIClient) CreateTeam(ctx context.Context, orgID int64, name string) (Team, error) {
	resp, err := c.api.Teams.CreateTeamWithParams(
		teams.NewCreateTeamParamsWithContext(ctx).WithBody(&models.CreateTeamCommand{Name: &name}), c.inOrg(orgID))
	if err != nil {
		return Team{}, apiError(err, "creating team %q", name)
	}
	if resp.Payload == nil || resp.Payload.TeamID == 0 {
		return Team{}, fmt.Errorf("creating team %q: response has no teamId", name)
	}
	return Team{ID: resp.Payload.TeamID, Name: name}, nil
}

// DeleteTeam calls DELETE /api/teams/:id.
func (c *OpenAPIClient) DeleteTeam(ctx context.Context, orgID, teamID int64) error {
	_, err := c.api.Teams.DeleteTeamByIDWithParams(
		teams.NewDeleteTeamByIDParamsWithContext(ctx).WithTeamID(idString(teamID)), c.inOrg(orgID))
	return apiError(err, "deleting team %d", teamID)
}

// ListTeamMembers calls GET /api/teams/:id/members.
func (c *OpenAPIClient) ListTeamMembers(ctx context.Context, orgID, teamID int64) ([]User, error) {
	resp, err := c.api.Teams.GetTeamMembersWithParams(
		teams.NewGetTeamMembersParamsWithContext(ctx).WithTeamID(idString(teamID)), c.inOrg(orgID))
	if err != nil {
		return nil, apiError(err, "listing members of team %d", teamID)
	}
	out := make([]User, 0, len(resp.Payload))
	for _, m := range resp.Payload {
		if m != nil {
			out = append(out, User{ID: m.UserID, Login: m.Login, Email: m.Email})
		}
	}
	return out, nil
}

// AddTeamMember calls POST /api/teams/:id/members.
func (c *OpenAPIClient) AddTeamMember(ctx context.Context, orgID, teamID, userID int64) error {
	_, err := c.api.Teams.AddTeamMemberWithParams(teams.NewAddTeamMemberParamsWithContext(ctx).
		WithTeamID(idString(teamID)).WithBody(&models.AddTeamMemberCommand{UserID: &userID}), c.inOrg(orgID))
	return apiError(err, "adding user %d to team %d", userID, teamID)
}

// RemoveTeamMember calls DELETE /api/teams/:id/members/:userId.
func (c *OpenAPIClient) RemoveTeamMember(ctx context.Context, orgID, teamID, userID int64) error {
	_, err := c.api.Teams.RemoveTeamMemberWithParams(teams.NewRemoveTeamMemberParamsWithContext(ctx).
		WithTeamID(idString(teamID)).WithUserID(userID), c.inOrg(orgID))
	return apiError(err, "removing user %d from team %d", userID, teamID)
}

// GetDashboard calls GET /api/dashboards/uid/:uid.
func (c *OpenAPIClient) GetDashboard(ctx context.Context, orgID int64, uid string) (Dashboard, error) {
	resp, err := c.api.Dashboards.GetDashboardByUIDWithParams(
		dashboards.NewGetDashboardByUIDParamsWithContext(ctx).WithUID(uid), c.inOrg(orgID))
	if err != nil {
		return Dashboard{}, apiError(err, "reading dashboard %q", uid)
	}
	model, ok := resp.Payload.Dashboard.(map[string]any)
	if !ok {
		return Dashboard{}, fmt.Errorf("reading dashboard %q: model is %T, not an object", uid, resp.Payload.Dashboard)
	}
	var folderUID string
	if resp.Payload.Meta != nil {
		folderUID = resp.Payload.Meta.FolderUID
	}
	return Dashboard{FolderUID: folderUID, Model: model}, nil
}

// UpsertDashboard calls POST /api/dashboards/db with overwrite set.
func (c *OpenAPIClient) UpsertDashboard(ctx context.Context, orgID int64, d Dashboard) error {
	uid, _ := d.Model["uid"].(string)
	_, err := c.api.Dashboards.PostDashboardWithParams(dashboards.NewPostDashboardParamsWithContext(ctx).
		WithBody(&models.SaveDashboardCommand{Dashboard: d.Model, FolderUID: d.FolderUID, Overwrite: true,
			Message: "Provisioned by Canopy"}), c.inOrg(orgID))
	return apiError(err, "writing dashboard %q", uid)
}

// DeleteDashboard calls DELETE /api/dashboards/uid/:uid.
func (c *OpenAPIClient) DeleteDashboard(ctx context.Context, orgID int64, uid string) error {
	_, err := c.api.Dashboards.DeleteDashboardByUIDWithParams(
		dashboards.NewDeleteDashboardByUIDParamsWithContext(ctx).WithUID(uid), c.inOrg(orgID))
	return apiError(err, "deleting dashboard %q", uid)
}
