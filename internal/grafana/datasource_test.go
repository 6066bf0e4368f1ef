package grafana

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func tokenState(token string) TenantState {
	st := acmeState()
	st.DatasourceToken = token
	return st
}

func TestDatasourceCarriesTheToken(t *testing.T) {
	f := newFake("olivia", "alice", "bob", "victor")
	p := newProvisioner(f)
	ctx := context.Background()
	if _, err := p.Sync(ctx, tokenState("t0k3n")); err != nil {
		t.Fatal(err)
	}
	stored := f.orgByName("acme").datasources[DatasourceUID("acme")]
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
	org, err := f.GetOrgByName(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	read, err := f.GetDatasource(ctx, org.ID, DatasourceUID("acme"))
	if err != nil {
		t.Fatal(err)
	}
	if read.SecureJSONData != nil || !read.SecureJSONFields["httpHeaderValue1"] {
		t.Errorf("read back %+v, want only the secure field's presence", read)
	}

	f.resetWrites()
	res, err := p.Sync(ctx, tokenState("t0k3n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 0 || len(f.writes) != 0 {
		t.Errorf("steady state with a token wrote %v", f.writes)
	}
}

func TestDatasourceTokenDrift(t *testing.T) {
	uid := DatasourceUID("acme")
	cases := []struct {
		name  string
		token string
		drift func(ds *Datasource)
	}{
		{"token rotated", "n3w", func(*Datasource) {}},
		{"secure value removed by hand", "t0k3n", func(ds *Datasource) { ds.SecureJSONData = nil }},
		{"header renamed by hand", "t0k3n", func(ds *Datasource) { ds.JSONData["httpHeaderName1"] = "X-Other" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("olivia", "alice", "bob", "victor")
			p := newProvisioner(f)
			ctx := context.Background()
			if _, err := p.Sync(ctx, tokenState("t0k3n")); err != nil {
				t.Fatal(err)
			}
			o := f.orgByName("acme")
			ds := o.datasources[uid]
			tc.drift(&ds)
			o.datasources[uid] = ds
			f.resetWrites()
			if _, err := p.Sync(ctx, tokenState(tc.token)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"UpdateDatasource " + uid}, f.writes); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if got := o.datasources[uid].SecureJSONData["httpHeaderValue1"]; got != "Bearer "+tc.token {
				t.Errorf("secure header value = %q after the repair", got)
			}
		})
	}
}
