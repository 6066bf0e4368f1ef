package grafana

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// TestDriftIsReverted changes the double's state behind the API's back,
// as someone editing Grafana by hand would, and checks the next sync
// makes exactly the writes that revert it, and the one after none.
func TestDriftIsReverted(t *testing.T) {
	webFolder := FolderUID("acme", "web")
	costUID := DashboardUID("acme", "web", "team-cost.json")
	type ids struct{ org, web, bob, mallory, victor int64 }
	cases := []struct {
		name  string
		drift func(o *grafanaapi.Org, id ids)
		want  func(id ids) []string
	}{{
		name: "permission granted to the Viewer role",
		drift: func(o *grafanaapi.Org, _ ids) {
			f := o.Folders[webFolder]
			f.Permissions = append(f.Permissions, grafanaapi.Permission{Role: RoleViewer, Permission: PermissionView})
		},
		want: func(ids) []string { return []string{"POST /api/folders/" + webFolder + "/permissions"} },
	}, {
		name: "viewer raised to Edit",
		drift: func(o *grafanaapi.Org, id ids) {
			f := o.Folders[webFolder]
			for i, p := range f.Permissions {
				if p.UserID == id.victor {
					f.Permissions[i].Permission = PermissionEdit
				}
			}
		},
		want: func(ids) []string { return []string{"POST /api/folders/" + webFolder + "/permissions"} },
	}, {
		name: "dashboard panel edited",
		drift: func(o *grafanaapi.Org, _ ids) {
			o.Dashboards[costUID].Model["panels"].([]any)[0].(map[string]any)["title"] = "mine now"
		},
		want: func(ids) []string { return []string{"POST /api/dashboards/db " + costUID} },
	}, {
		name: "dashboard moved to another folder",
		drift: func(o *grafanaapi.Org, _ ids) {
			o.Dashboards[costUID].FolderUID = FolderUID("acme", "acme")
		},
		want: func(ids) []string { return []string{"POST /api/dashboards/db " + costUID} },
	}, {
		name:  "dashboard deleted",
		drift: func(o *grafanaapi.Org, _ ids) { delete(o.Dashboards, costUID) },
		want:  func(ids) []string { return []string{"POST /api/dashboards/db " + costUID} },
	}, {
		name: "fields Grafana adds itself are not drift",
		drift: func(o *grafanaapi.Org, _ ids) {
			o.Dashboards[costUID].Model["weekStart"] = ""
			o.Dashboards[costUID].Version = 42
		},
		want: func(ids) []string { return nil },
	}, {
		name:  "member removed from the team",
		drift: func(o *grafanaapi.Org, id ids) { delete(o.Teams[id.web].Members, id.bob) },
		want: func(id ids) []string {
			return []string{fmt.Sprintf("POST /api/teams/%d/members user=%d", id.web, id.bob)}
		},
	}, {
		// victor belongs to the organization, as a viewer of the web
		// folder, but not to the web team.
		name:  "viewer added to the team",
		drift: func(o *grafanaapi.Org, id ids) { o.Teams[id.web].Members[id.victor] = 0 },
		want: func(id ids) []string {
			return []string{fmt.Sprintf("DELETE /api/teams/%d/members/%d", id.web, id.victor)}
		},
	}, {
		name:  "stranger added to the organization",
		drift: func(o *grafanaapi.Org, id ids) { o.Members[id.mallory] = RoleEditor },
		want: func(id ids) []string {
			return []string{fmt.Sprintf("DELETE /api/orgs/%d/users/%d", id.org, id.mallory)}
		},
	}, {
		name:  "datasource pointed elsewhere",
		drift: func(o *grafanaapi.Org, _ ids) { o.Datasources[DatasourceUID("acme")].URL = "http://prometheus:9090" },
		want:  func(ids) []string { return []string{"PUT /api/datasources/uid/" + DatasourceUID("acme")} },
	}, {
		name:  "folder renamed",
		drift: func(o *grafanaapi.Org, _ ids) { o.Folders[webFolder].Title = "renamed" },
		want:  func(ids) []string { return []string{"PUT /api/folders/" + webFolder} },
	}, {
		name: "folder deleted with its dashboards",
		drift: func(o *grafanaapi.Org, _ ids) {
			delete(o.Folders, webFolder)
			for uid, d := range o.Dashboards {
				if d.FolderUID == webFolder {
					delete(o.Dashboards, uid)
				}
			}
		},
		want: func(ids) []string {
			return []string{
				"POST /api/folders " + webFolder,
				"POST /api/folders/" + webFolder + "/permissions",
				"POST /api/dashboards/db " + DashboardUID("acme", "web", "team-cost.json"),
				"POST /api/dashboards/db " + DashboardUID("acme", "web", "team-quota.json"),
				"POST /api/dashboards/db " + DashboardUID("acme", "web", "team-workloads.json"),
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := synced(t)
			id := ids{org: e.s.OrgID("acme"), web: e.teamID("acme", "acme/web"), bob: e.user("bob"),
				mallory: e.user("mallory"), victor: e.user("victor")}
			e.org("acme", func(o *grafanaapi.Org) { tc.drift(o, id) })
			want := tc.want(id)
			mark := e.s.Mark()
			res, err := e.p.Sync(context.Background(), acmeState())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, e.writesSince(mark)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if res.Writes != len(want) {
				t.Errorf("Result.Writes = %d, want %d", res.Writes, len(want))
			}
			mark = e.s.Mark()
			if res, err := e.p.Sync(context.Background(), acmeState()); err != nil || res.Writes != 0 {
				t.Errorf("sync after revert: %d writes %v, err %v", res.Writes, e.writesSince(mark), err)
			}
		})
	}
}
