package grafana

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// mainOrgID is Grafana's default organization, which Canopy never deletes.
const mainOrgID = 1

// Teardown removes what Sync made for st when policy is Delete, and does
// nothing under Retain. With an organization per tenant the organization
// goes, and with it every folder, dashboard, team and datasource in it; in
// a shared organization those are deleted one by one. Objects already gone
// are not errors, so Teardown can be retried until it succeeds.
func (p *Provisioner) Teardown(ctx context.Context, st TenantState, policy tenancyv1alpha1.DeletionPolicy) (Result, error) {
	if policy != tenancyv1alpha1.DeletionDelete {
		return Result{}, nil
	}
	if st.Tenant == "" {
		return Result{}, fmt.Errorf("tearing down Grafana: tenant name is empty")
	}
	c := &countingClient{Client: p.Client}
	var err error
	if p.SharedOrgID == 0 {
		err = deleteOrg(ctx, c, st.orgName())
	} else {
		err = deleteTenantObjects(ctx, c, p.SharedOrgID, st)
	}
	return Result{OrgID: p.SharedOrgID, Writes: c.writes}, err
}

func deleteOrg(ctx context.Context, c Client, name string) error {
	org, err := c.GetOrgByName(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("reading organization %q: %w", name, err)
	case org.ID == mainOrgID:
		return fmt.Errorf("refusing to delete Grafana's main organization %q", name)
	}
	if err := c.DeleteOrg(ctx, org.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("deleting organization %q: %w", name, err)
	}
	return nil
}

func deleteTenantObjects(ctx context.Context, c Client, orgID int64, st TenantState) error {
	prefix := TeamName(st.Tenant, "")
	teams, err := c.SearchTeams(ctx, orgID, prefix)
	if err != nil {
		return fmt.Errorf("listing teams of tenant %q: %w", st.Tenant, err)
	}
	var errs []error
	seen := map[string]bool{}
	for _, t := range teams {
		if !strings.HasPrefix(t.Name, prefix) || len(t.Name) == len(prefix) {
			continue
		}
		seen[t.Name] = true
		if err := deleteTeamSpace(ctx, c, orgID, st.Tenant, t); err != nil {
			errs = append(errs, err)
		}
	}
	// Folders whose team was already deleted by hand.
	for _, t := range st.Teams {
		if seen[TeamName(st.Tenant, t.Name)] {
			continue
		}
		uid := FolderUID(st.Tenant, t.Name)
		if err := c.DeleteFolder(ctx, orgID, uid); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("deleting folder %q: %w", uid, err))
		}
	}
	uid := DatasourceUID(st.Tenant)
	if err := c.DeleteDatasource(ctx, orgID, uid); err != nil && !errors.Is(err, ErrNotFound) {
		errs = append(errs, fmt.Errorf("deleting datasource %q: %w", uid, err))
	}
	return errors.Join(errs...)
}
