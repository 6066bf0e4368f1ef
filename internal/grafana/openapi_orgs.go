package grafana

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-openapi-client-go/client/datasources"
	"github.com/grafana/grafana-openapi-client-go/client/orgs"
	"github.com/grafana/grafana-openapi-client-go/client/users"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// LookupUser calls GET /api/users/lookup?loginOrEmail=.
func (c *OpenAPIClient) LookupUser(ctx context.Context, loginOrEmail string) (User, error) {
	resp, err := c.api.Users.GetUserByLoginOrEmailWithParams(
		users.NewGetUserByLoginOrEmailParamsWithContext(ctx).WithLoginOrEmail(loginOrEmail))
	if err != nil {
		return User{}, apiError(err, "looking up user %q", loginOrEmail)
	}
	p := resp.Payload
	return User{ID: p.ID, Login: p.Login, Email: p.Email}, nil
}

// GetOrgByName calls GET /api/orgs/name/:name.
func (c *OpenAPIClient) GetOrgByName(ctx context.Context, name string) (Org, error) {
	resp, err := c.api.Orgs.GetOrgByNameWithParams(orgs.NewGetOrgByNameParamsWithContext(ctx).WithOrgName(name))
	if err != nil {
		return Org{}, apiError(err, "reading organization %q", name)
	}
	return Org{ID: resp.Payload.ID, Name: resp.Payload.Name}, nil
}

// CreateOrg calls POST /api/orgs.
func (c *OpenAPIClient) CreateOrg(ctx context.Context, name string) (int64, error) {
	resp, err := c.api.Orgs.CreateOrgWithParams(
		orgs.NewCreateOrgParamsWithContext(ctx).WithBody(&models.CreateOrgCommand{Name: name}))
	if err != nil {
		return 0, apiError(err, "creating organization %q", name)
	}
	if resp.Payload == nil || resp.Payload.OrgID == nil {
		return 0, fmt.Errorf("creating organization %q: response has no orgId", name)
	}
	return *resp.Payload.OrgID, nil
}

// DeleteOrg calls DELETE /api/orgs/:id.
func (c *OpenAPIClient) DeleteOrg(ctx context.Context, orgID int64) error {
	_, err := c.api.Orgs.DeleteOrgByIDWithParams(orgs.NewDeleteOrgByIDParamsWithContext(ctx).WithOrgID(orgID))
	return apiError(err, "deleting organization %d", orgID)
}

// ListOrgUsers calls GET /api/orgs/:id/users.
func (c *OpenAPIClient) ListOrgUsers(ctx context.Context, orgID int64) ([]OrgUser, error) {
	resp, err := c.api.Orgs.GetOrgUsersWithParams(orgs.NewGetOrgUsersParamsWithContext(ctx).WithOrgID(orgID))
	if err != nil {
		return nil, apiError(err, "listing users of organization %d", orgID)
	}
	out := make([]OrgUser, 0, len(resp.Payload))
	for _, u := range resp.Payload {
		out = append(out, OrgUser{UserID: u.UserID, Login: u.Login, Role: u.Role})
	}
	return out, nil
}

// AddOrgUser calls POST /api/orgs/:id/users.
func (c *OpenAPIClient) AddOrgUser(ctx context.Context, orgID int64, loginOrEmail, role string) error {
	_, err := c.api.Orgs.AddOrgUserWithParams(orgs.NewAddOrgUserParamsWithContext(ctx).WithOrgID(orgID).
		WithBody(&models.AddOrgUserCommand{LoginOrEmail: loginOrEmail, Role: role}))
	return apiError(err, "adding user %q to organization %d", loginOrEmail, orgID)
}

// RemoveOrgUser calls DELETE /api/orgs/:id/users/:userId.
func (c *OpenAPIClient) RemoveOrgUser(ctx context.Context, orgID, userID int64) error {
	_, err := c.api.Orgs.RemoveOrgUserWithParams(
		orgs.NewRemoveOrgUserParamsWithContext(ctx).WithOrgID(orgID).WithUserID(userID))
	return apiError(err, "removing user %d from organization %d", userID, orgID)
}

// GetDatasource calls GET /api/datasources/uid/:uid.
func (c *OpenAPIClient) GetDatasource(ctx context.Context, orgID int64, uid string) (Datasource, error) {
	resp, err := c.api.Datasources.GetDataSourceByUIDWithParams(
		datasources.NewGetDataSourceByUIDParamsWithContext(ctx).WithUID(uid), c.inOrg(orgID))
	if err != nil {
		return Datasource{}, apiError(err, "reading datasource %q", uid)
	}
	p := resp.Payload
	jsonData, _ := p.JSONData.(map[string]any)
	return Datasource{UID: p.UID, Name: p.Name, Type: p.Type, URL: p.URL, Access: string(p.Access),
		IsDefault: p.IsDefault, JSONData: jsonData, SecureJSONFields: p.SecureJSONFields}, nil
}

// CreateDatasource calls POST /api/datasources.
func (c *OpenAPIClient) CreateDatasource(ctx context.Context, orgID int64, ds Datasource) error {
	_, err := c.api.Datasources.AddDataSourceWithParams(datasources.NewAddDataSourceParamsWithContext(ctx).
		WithBody(&models.AddDataSourceCommand{UID: ds.UID, Name: ds.Name, Type: ds.Type, URL: ds.URL,
			Access: models.DsAccess(ds.Access), IsDefault: ds.IsDefault, JSONData: ds.JSONData,
			SecureJSONData: ds.SecureJSONData}), c.inOrg(orgID))
	return apiError(err, "creating datasource %q", ds.UID)
}

// UpdateDatasource calls PUT /api/datasources/uid/:uid.
func (c *OpenAPIClient) UpdateDatasource(ctx context.Context, orgID int64, ds Datasource) error {
	_, err := c.api.Datasources.UpdateDataSourceByUIDWithParams(datasources.NewUpdateDataSourceByUIDParamsWithContext(ctx).
		WithUID(ds.UID).WithBody(&models.UpdateDataSourceCommand{UID: ds.UID, Name: ds.Name, Type: ds.Type, URL: ds.URL,
		Access: models.DsAccess(ds.Access), IsDefault: ds.IsDefault, JSONData: ds.JSONData,
		SecureJSONData: ds.SecureJSONData}), c.inOrg(orgID))
	return apiError(err, "updating datasource %q", ds.UID)
}

// DeleteDatasource calls DELETE /api/datasources/uid/:uid.
func (c *OpenAPIClient) DeleteDatasource(ctx context.Context, orgID int64, uid string) error {
	_, err := c.api.Datasources.DeleteDataSourceByUIDWithParams(
		datasources.NewDeleteDataSourceByUIDParamsWithContext(ctx).WithUID(uid), c.inOrg(orgID))
	return apiError(err, "deleting datasource %q", uid)
}
