package dashboard

import (
	"testing"

	"github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// testGrafana is the Grafana API double the controller's real client
// talks to, over HTTP, with the few views the tests read.
type testGrafana struct {
	*grafanaapi.Server
	t *testing.T
}

// newTestGrafana starts the double with the admin password of
// basicAuthSecret and the Grafana users alice and bob.
func newTestGrafana(t *testing.T) *testGrafana {
	s := grafanaapi.New(t, grafanaapi.Options{AdminUser: "admin", AdminPassword: "pw"})
	s.AddUsers("alice", "bob")
	return &testGrafana{Server: s, t: t}
}

// newClient is the production client, pointed at the double.
func (g *testGrafana) newClient(cfg grafana.Config) (grafana.Client, error) {
	return grafana.NewOpenAPIClient(cfg)
}

func (g *testGrafana) setDown(down bool) {
	if !down {
		if err := g.Up(); err != nil {
			g.t.Fatal(err)
		}
		return
	}
	g.Down()
}

func (g *testGrafana) writeCount() int { return g.WriteCount() }

func (g *testGrafana) orgNames() []string {
	var out []string
	g.View(func(st *grafanaapi.State) { out = st.OrgNames() })
	return out
}

func (g *testGrafana) folderUIDs(org string) []string {
	var out []string
	g.View(func(st *grafanaapi.State) {
		if o := st.OrgByName(org); o != nil {
			out = o.FolderUIDs()
		}
	})
	return out
}

// setAdminPassword changes the admin's password, as an operator
// rotating Grafana's credentials would.
func (g *testGrafana) setAdminPassword(pw string) {
	g.Edit(func(st *grafanaapi.State) { st.UserByLogin("admin").Password = pw })
}
