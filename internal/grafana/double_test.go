package grafana

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// testEnv is a Provisioner whose OpenAPIClient talks to the Grafana API
// double over HTTP, so every test runs the production client too.
type testEnv struct {
	t *testing.T
	s *grafanaapi.Server
	c *OpenAPIClient
	p *Provisioner
}

// newEnv starts the double with users of these logins (emails
// <login>@example.com) and a Provisioner logged in as the server admin.
func newEnv(t *testing.T, logins ...string) *testEnv {
	t.Helper()
	s := grafanaapi.New(t)
	s.AddUsers(logins...)
	c, err := NewOpenAPIClient(Config{URL: s.URL, Username: s.AdminUser, Password: s.AdminPassword})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, s: s, c: c, p: &Provisioner{Client: c, BaseURL: "https://grafana.example.com/"}}
}

func (e *testEnv) user(login string) int64 { return e.s.UserID(login) }

// org runs f on the named organization under the double's lock, failing
// the test when it does not exist.
func (e *testEnv) org(name string, f func(o *grafanaapi.Org)) {
	e.t.Helper()
	found := false
	e.s.Edit(func(st *grafanaapi.State) {
		if o := st.OrgByName(name); o != nil {
			found = true
			f(o)
		}
	})
	if !found {
		e.t.Fatalf("organization %q not found", name)
	}
}

func (e *testEnv) hasOrg(name string) bool { return e.s.OrgID(name) != 0 }

func (e *testEnv) teamID(org, name string) int64 {
	e.t.Helper()
	var id int64
	e.org(org, func(o *grafanaapi.Org) {
		if t := o.TeamByName(name); t != nil {
			id = t.ID
		}
	})
	if id == 0 {
		e.t.Fatalf("team %q not found", name)
	}
	return id
}

func (e *testEnv) members(org, team string) []int64 {
	e.t.Helper()
	var out []int64
	e.org(org, func(o *grafanaapi.Org) { out = o.TeamByName(team).MemberIDs() })
	return out
}

// writesSince describes the writes made after mark, one line each:
// method and path, plus the uid of a saved dashboard or created folder
// and the user of an added team member, which the path does not name.
func (e *testEnv) writesSince(mark int) []string {
	var out []string
	for _, c := range e.s.WritesSince(mark) {
		d := c.Method + " " + c.Path
		var body struct {
			UID       string         `json:"uid"`
			UserID    int64          `json:"userId"`
			Dashboard map[string]any `json:"dashboard"`
		}
		_ = json.Unmarshal(c.Body, &body)
		switch {
		case c.Path == "/api/dashboards/db":
			d += fmt.Sprintf(" %v", body.Dashboard["uid"])
		case c.Method == http.MethodPost && c.Path == "/api/folders":
			d += " " + body.UID
		case body.UserID != 0:
			d += fmt.Sprintf(" user=%d", body.UserID)
		}
		if c.Status/100 != 2 {
			d += fmt.Sprintf(" (status %d)", c.Status)
		}
		out = append(out, d)
	}
	return out
}
