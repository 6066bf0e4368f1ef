package grafana

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// resolveUsers looks up every member and viewer once and returns the names
// Grafana does not know.
func (s *syncer) resolveUsers(ctx context.Context) ([]string, error) {
	var names []string
	for _, t := range s.st.Teams {
		names = append(names, t.Members...)
		names = append(names, t.Viewers...)
	}
	s.users = map[string]User{}
	var missing []string
	for _, name := range uniqueSorted(names) {
		u, err := s.c.LookupUser(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
			missing = append(missing, name)
		case err != nil:
			return nil, fmt.Errorf("looking up user %q: %w", name, err)
		default:
			s.users[name] = u
		}
	}
	return missing, nil
}

// syncOrgUsers makes every resolved user a member of the organization, as a
// Viewer: what they see and edit comes from folder permissions. In a
// tenant's own organization, Canopy also removes users no team names any
// more, so a removed member loses the tenant's datasource too; organization
// Admins are left alone, as they include the identity Canopy runs as. In a
// shared organization nobody is removed, since other tenants' users live
// there.
func (s *syncer) syncOrgUsers(ctx context.Context) error {
	current, err := s.c.ListOrgUsers(ctx, s.orgID)
	if err != nil {
		return fmt.Errorf("listing users of organization %d: %w", s.orgID, err)
	}
	have := map[int64]bool{}
	for _, ou := range current {
		have[ou.UserID] = true
	}
	want := map[int64]bool{}
	for _, name := range sortedKeys(s.users) {
		u := s.users[name]
		if want[u.ID] {
			continue // named twice, by login and by email
		}
		want[u.ID] = true
		if have[u.ID] {
			continue
		}
		if err := s.c.AddOrgUser(ctx, s.orgID, u.Login, RoleViewer); err != nil {
			return fmt.Errorf("adding user %q to organization %d: %w", u.Login, s.orgID, err)
		}
	}
	if s.p.SharedOrgID != 0 {
		return nil
	}
	for _, ou := range current {
		if want[ou.UserID] || ou.Role == RoleAdmin {
			continue
		}
		if err := s.c.RemoveOrgUser(ctx, s.orgID, ou.UserID); err != nil {
			return fmt.Errorf("removing user %q from organization %d: %w", ou.Login, s.orgID, err)
		}
	}
	return nil
}

// findTeam returns the team with exactly this name.
func (s *syncer) findTeam(ctx context.Context, name string) (Team, error) {
	teams, err := s.c.SearchTeams(ctx, s.orgID, name)
	if err != nil {
		return Team{}, fmt.Errorf("searching team %q: %w", name, err)
	}
	for _, t := range teams {
		if t.Name == name {
			return t, nil
		}
	}
	return Team{}, fmt.Errorf("team %q: %w", name, ErrNotFound)
}

func (s *syncer) ensureTeam(ctx context.Context, team TeamState) (Team, error) {
	name := TeamName(s.st.Tenant, team.Name)
	t, err := s.findTeam(ctx, name)
	if !errors.Is(err, ErrNotFound) {
		return t, err
	}
	t, err = s.c.CreateTeam(ctx, s.orgID, name)
	if err != nil {
		return Team{}, fmt.Errorf("creating team %q: %w", name, err)
	}
	return t, nil
}

// syncMembers makes the Grafana team hold exactly the resolved members.
func (s *syncer) syncMembers(ctx context.Context, gt Team, team TeamState) error {
	current, err := s.c.ListTeamMembers(ctx, s.orgID, gt.ID)
	if err != nil {
		return fmt.Errorf("listing members of team %q: %w", gt.Name, err)
	}
	want := s.userIDs(team.Members)
	have := map[int64]bool{}
	for _, u := range current {
		have[u.ID] = true
		if want[u.ID] {
			continue
		}
		if err := s.c.RemoveTeamMember(ctx, s.orgID, gt.ID, u.ID); err != nil {
			return fmt.Errorf("removing %q from team %q: %w", u.Login, gt.Name, err)
		}
	}
	for _, id := range sortedIDs(want) {
		if have[id] {
			continue
		}
		if err := s.c.AddTeamMember(ctx, s.orgID, gt.ID, id); err != nil {
			return fmt.Errorf("adding user %d to team %q: %w", id, gt.Name, err)
		}
	}
	return nil
}

// pruneTeams deletes the teams, and their folders, of this tenant that the
// state no longer names. Only teams named "<tenant>/..." are considered.
func (s *syncer) pruneTeams(ctx context.Context) error {
	prefix := TeamName(s.st.Tenant, "")
	teams, err := s.c.SearchTeams(ctx, s.orgID, prefix)
	if err != nil {
		return fmt.Errorf("listing teams of tenant %q: %w", s.st.Tenant, err)
	}
	keep := map[string]bool{}
	for _, t := range s.st.Teams {
		keep[TeamName(s.st.Tenant, t.Name)] = true
	}
	var errs []error
	for _, t := range teams {
		if !strings.HasPrefix(t.Name, prefix) || len(t.Name) == len(prefix) || keep[t.Name] {
			continue
		}
		if err := deleteTeamSpace(ctx, s.c, s.orgID, s.st.Tenant, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteTeamSpace deletes a team's folder, with its dashboards, and then
// the team itself.
func deleteTeamSpace(ctx context.Context, c Client, orgID int64, tenant string, t Team) error {
	team := t.Name[len(TeamName(tenant, "")):]
	uid := FolderUID(tenant, team)
	if err := c.DeleteFolder(ctx, orgID, uid); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("deleting folder %q: %w", uid, err)
	}
	if err := c.DeleteTeam(ctx, orgID, t.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("deleting team %q: %w", t.Name, err)
	}
	return nil
}

func (s *syncer) userIDs(names []string) map[int64]bool {
	ids := map[int64]bool{}
	for _, n := range names {
		if u, ok := s.users[n]; ok {
			ids[u.ID] = true
		}
	}
	return ids
}

func sortedIDs(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
