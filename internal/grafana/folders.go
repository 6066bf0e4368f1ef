package grafana

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/google/go-cmp/cmp"
)

func folderTitle(tenant, team string) string {
	if tenant == team {
		return tenant
	}
	return tenant + " / " + team
}

func (s *syncer) ensureFolder(ctx context.Context, team TeamState) (Folder, error) {
	want := Folder{UID: FolderUID(s.st.Tenant, team.Name), Title: folderTitle(s.st.Tenant, team.Name)}
	got, err := s.c.GetFolder(ctx, s.orgID, want.UID)
	switch {
	case errors.Is(err, ErrNotFound):
		f, err := s.c.CreateFolder(ctx, s.orgID, want)
		if err != nil {
			return Folder{}, fmt.Errorf("creating folder %q: %w", want.UID, err)
		}
		return f, nil
	case err != nil:
		return Folder{}, fmt.Errorf("reading folder %q: %w", want.UID, err)
	case got.Title == want.Title:
		return got, nil
	}
	if err := s.c.UpdateFolder(ctx, s.orgID, want); err != nil {
		return Folder{}, fmt.Errorf("renaming folder %q: %w", want.UID, err)
	}
	got.Title = want.Title
	return got, nil
}

// desiredPermissions is the folder's whole ACL: the team edits, viewers who
// are not also members view, and organization Admins administer. Nobody
// else, not even the organization's Viewer and Editor roles, is listed.
func (s *syncer) desiredPermissions(gt Team, team TeamState) []Permission {
	perms := []Permission{
		{TeamID: gt.ID, Permission: PermissionEdit},
		{Role: RoleAdmin, Permission: PermissionAdmin},
	}
	members := s.userIDs(team.Members)
	for _, id := range sortedIDs(s.userIDs(team.Viewers)) {
		if !members[id] {
			perms = append(perms, Permission{UserID: id, Permission: PermissionView})
		}
	}
	return sortPermissions(perms)
}

// syncFolderPermissions reads the folder's ACL and replaces it, whole, only
// when it differs from the desired one: Grafana's POST replaces the set.
func (s *syncer) syncFolderPermissions(ctx context.Context, uid string, gt Team, team TeamState) error {
	want := s.desiredPermissions(gt, team)
	got, err := s.c.GetFolderPermissions(ctx, s.orgID, uid)
	if err != nil {
		return fmt.Errorf("reading permissions of folder %q: %w", uid, err)
	}
	if cmp.Equal(want, sortPermissions(got)) {
		return nil
	}
	if err := s.c.SetFolderPermissions(ctx, s.orgID, uid, want); err != nil {
		return fmt.Errorf("setting permissions of folder %q: %w", uid, err)
	}
	return nil
}

func sortPermissions(in []Permission) []Permission {
	out := append([]Permission(nil), in...)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		if a.TeamID != b.TeamID {
			return a.TeamID < b.TeamID
		}
		if a.UserID != b.UserID {
			return a.UserID < b.UserID
		}
		return a.Permission < b.Permission
	})
	return out
}
