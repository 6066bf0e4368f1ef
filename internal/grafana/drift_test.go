package grafana

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDriftIsReverted(t *testing.T) {
	webFolder := FolderUID("acme", "web")
	costUID := DashboardUID("acme", "web", "team-cost.json")
	cases := []struct {
		name  string
		drift func(f *fakeGrafana, o *fakeOrg)
		want  func(f *fakeGrafana, o *fakeOrg) []string
	}{{
		name: "permission granted to the Viewer role",
		drift: func(_ *fakeGrafana, o *fakeOrg) {
			o.perms[webFolder] = append(o.perms[webFolder], Permission{Role: RoleViewer, Permission: PermissionView})
		},
		want: func(*fakeGrafana, *fakeOrg) []string { return []string{"SetFolderPermissions " + webFolder} },
	}, {
		name: "viewer raised to Edit",
		drift: func(f *fakeGrafana, o *fakeOrg) {
			for i, p := range o.perms[webFolder] {
				if p.UserID == user(f, "victor") {
					o.perms[webFolder][i].Permission = PermissionEdit
				}
			}
		},
		want: func(*fakeGrafana, *fakeOrg) []string { return []string{"SetFolderPermissions " + webFolder} },
	}, {
		name: "dashboard panel edited",
		drift: func(_ *fakeGrafana, o *fakeOrg) {
			o.dashboards[costUID].Model["panels"].([]any)[0].(map[string]any)["title"] = "mine now"
		},
		want: func(*fakeGrafana, *fakeOrg) []string { return []string{"UpsertDashboard " + costUID} },
	}, {
		name: "dashboard moved to another folder",
		drift: func(_ *fakeGrafana, o *fakeOrg) {
			d := o.dashboards[costUID]
			d.FolderUID = FolderUID("acme", "acme")
			o.dashboards[costUID] = d
		},
		want: func(*fakeGrafana, *fakeOrg) []string { return []string{"UpsertDashboard " + costUID} },
	}, {
		name: "dashboard deleted",
		drift: func(_ *fakeGrafana, o *fakeOrg) {
			delete(o.dashboards, costUID)
		},
		want: func(*fakeGrafana, *fakeOrg) []string { return []string{"UpsertDashboard " + costUID} },
	}, {
		name: "fields Grafana adds itself are not drift",
		drift: func(_ *fakeGrafana, o *fakeOrg) {
			o.dashboards[costUID].Model["weekStart"] = ""
			o.dashboards[costUID].Model["version"] = float64(42)
		},
		want: func(*fakeGrafana, *fakeOrg) []string { return nil },
	}, {
		name: "member removed from the team",
		drift: func(f *fakeGrafana, o *fakeOrg) {
			_, web := teamByName(t, o, "acme/web")
			delete(web.members, user(f, "bob"))
		},
		want: func(f *fakeGrafana, o *fakeOrg) []string {
			id, _ := teamByName(t, o, "acme/web")
			return []string{fmt.Sprintf("AddTeamMember %d %d", id, user(f, "bob"))}
		},
	}, {
		name: "stranger added to the team",
		drift: func(f *fakeGrafana, o *fakeOrg) {
			_, web := teamByName(t, o, "acme/web")
			web.members[user(f, "mallory")] = true
		},
		want: func(f *fakeGrafana, o *fakeOrg) []string {
			id, _ := teamByName(t, o, "acme/web")
			return []string{fmt.Sprintf("RemoveTeamMember %d %d", id, user(f, "mallory"))}
		},
	}, {
		name: "stranger added to the organization",
		drift: func(f *fakeGrafana, o *fakeOrg) {
			o.users[user(f, "mallory")] = OrgUser{UserID: user(f, "mallory"), Login: "mallory", Role: RoleEditor}
		},
		want: func(f *fakeGrafana, o *fakeOrg) []string {
			orgID, _ := f.GetOrgByName(context.Background(), "acme")
			return []string{fmt.Sprintf("RemoveOrgUser %d %d", orgID.ID, user(f, "mallory"))}
		},
	}, {
		name: "datasource pointed elsewhere",
		drift: func(_ *fakeGrafana, o *fakeOrg) {
			ds := o.datasources[DatasourceUID("acme")]
			ds.URL = "http://prometheus:9090"
			o.datasources[DatasourceUID("acme")] = ds
		},
		want: func(*fakeGrafana, *fakeOrg) []string { return []string{"UpdateDatasource " + DatasourceUID("acme")} },
	}, {
		name: "folder renamed",
		drift: func(_ *fakeGrafana, o *fakeOrg) {
			fo := o.folders[webFolder]
			fo.Title = "renamed"
			o.folders[webFolder] = fo
		},
		want: func(*fakeGrafana, *fakeOrg) []string { return []string{"UpdateFolder " + webFolder} },
	}, {
		name: "folder deleted with its dashboards",
		drift: func(_ *fakeGrafana, o *fakeOrg) {
			delete(o.folders, webFolder)
			delete(o.perms, webFolder)
			for uid, d := range o.dashboards {
				if d.FolderUID == webFolder {
					delete(o.dashboards, uid)
				}
			}
		},
		want: func(*fakeGrafana, *fakeOrg) []string {
			return []string{
				"CreateFolder " + webFolder,
				"SetFolderPermissions " + webFolder,
				"UpsertDashboard " + DashboardUID("acme", "web", "team-cost.json"),
				"UpsertDashboard " + DashboardUID("acme", "web", "team-quota.json"),
				"UpsertDashboard " + DashboardUID("acme", "web", "team-workloads.json"),
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, o, _ := synced(t)
			tc.drift(f, o)
			want := tc.want(f, o)
			res, err := newProvisioner(f).Sync(context.Background(), acmeState())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, f.writes); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if res.Writes != len(want) {
				t.Errorf("Result.Writes = %d, want %d", res.Writes, len(want))
			}
			f.resetWrites()
			if res, err := newProvisioner(f).Sync(context.Background(), acmeState()); err != nil || res.Writes != 0 {
				t.Errorf("sync after revert: %d writes %v, err %v", res.Writes, f.writes, err)
			}
		})
	}
}
