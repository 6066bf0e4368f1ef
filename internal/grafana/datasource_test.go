package grafana

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

func tokenState(token string) TenantState {
	st := acmeState()
	st.DatasourceToken = token
	return st
}

func TestDatasourceCarriesTheToken(t *testing.T) {
	e := newEnv(t, "olivia", "alice", "bob", "victor")
	ctx := context.Background()
	if _, err := e.p.Sync(ctx, tokenState("t0k3n")); err != nil {
		t.Fatal(err)
	}
	e.org("acme", func(o *grafanaapi.Org) {
		stored := o.Datasources[DatasourceUID("acme")]
		if got := stored.SecureJSONData["httpHeaderValue1"]; got != "Bearer t0k3n" {
			t.Errorf("secure header value = %q, want the bearer token", got)
		}
		if got := stored.JSONData["httpHeaderName1"]; got != "Authorization" {
			t.Errorf("header name = %v, want Authorization", got)
		}
		for k, v := range stored.JSONData {
			if s, ok := v.(string); ok && k != "httpHeaderName1" && (s == "t0k3n" || s == "Bearer t0k3n") {
				t.Errorf("token readable in jsonData[%q]", k)
			}
		}
	})
	read, err := e.c.GetDatasource(ctx, e.s.OrgID("acme"), DatasourceUID("acme"))
	if err != nil {
		t.Fatal(err)
	}
	if read.SecureJSONData != nil || !read.SecureJSONFields["httpHeaderValue1"] {
		t.Errorf("read back %+v, want only the secure field's presence", read)
	}

	mark := e.s.Mark()
	res, err := e.p.Sync(ctx, tokenState("t0k3n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := e.writesSince(mark); res.Writes != 0 || len(w) != 0 {
		t.Errorf("steady state with a token wrote %v", w)
	}
}

func TestDatasourceTokenDrift(t *testing.T) {
	uid := DatasourceUID("acme")
	cases := []struct {
		name  string
		token string
		drift func(ds *grafanaapi.Datasource)
	}{
		{"token rotated", "n3w", func(*grafanaapi.Datasource) {}},
		{"secure value removed by hand", "t0k3n", func(ds *grafanaapi.Datasource) { ds.SecureJSONData = nil }},
		{"header renamed by hand", "t0k3n", func(ds *grafanaapi.Datasource) { ds.JSONData["httpHeaderName1"] = "X-Other" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "olivia", "alice", "bob", "victor")
			ctx := context.Background()
			if _, err := e.p.Sync(ctx, tokenState("t0k3n")); err != nil {
				t.Fatal(err)
			}
			e.org("acme", func(o *grafanaapi.Org) { tc.drift(o.Datasources[uid]) })
			mark := e.s.Mark()
			if _, err := e.p.Sync(ctx, tokenState(tc.token)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"PUT /api/datasources/uid/" + uid}, e.writesSince(mark)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			e.org("acme", func(o *grafanaapi.Org) {
				if got := o.Datasources[uid].SecureJSONData["httpHeaderValue1"]; got != "Bearer "+tc.token {
					t.Errorf("secure header value = %q after the repair", got)
				}
			})
		})
	}
}
