package kubectl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/costapi"
)

var costNow = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

// bearerUser takes the bearer token as the user name.
type bearerUser struct{}

func (bearerUser) AuthenticateRequest(r *http.Request) (*authenticator.Response, bool, error) {
	name, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false, nil
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: name}}, true, nil
}

// tenantGrants maps a user to the tenants they may get; "*" is all.
type tenantGrants map[string][]string

func (g tenantGrants) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	names := g[a.GetUser().GetName()]
	if slices.Contains(names, "*") || a.GetVerb() == "get" && slices.Contains(names, a.GetName()) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

type costDirectory cost.Directory

func (d costDirectory) Directory(context.Context) (cost.Directory, error) {
	return cost.Directory(d), nil
}

type dailyOpenCost []opencost.Allocation

func (f dailyOpenCost) Allocations(_ context.Context, w period.Window, visit func(*opencost.Step) error) (opencost.Response, error) {
	for i, s := range period.Steps(w, 24*time.Hour) {
		if err := visit(&opencost.Step{Index: i, Window: s, Allocations: slices.Clone(f)}); err != nil {
			return opencost.Response{}, err
		}
	}
	return opencost.Response{Code: 200}, nil
}

// costServer serves the real cost API handler over a fake OpenCost.
func costServer(t *testing.T) *httptest.Server {
	t.Helper()
	h := &costapi.Handler{
		Authenticator: bearerUser{},
		Authorizer:    tenantGrants{"alice": {"pay"}, "finance": {"*"}},
		Source: costDirectory{
			Tenants: map[string]cost.Tenant{"pay": {Name: "pay", CostCenter: "CC-1"}, "search": {Name: "search"}},
			Namespaces: map[string]cost.LiveNamespace{
				"pay": {Tenant: "pay", Path: []string{"pay"}}, "pay-api": {Tenant: "pay", Path: []string{"pay", "pay-api"}},
				"search": {Tenant: "search", Path: []string{"search"}},
			},
		},
		OpenCost: dailyOpenCost{
			{Key: "pay", CPUCost: 1.5, TotalCost: 1.5},
			{Key: "pay-api", RAMCost: 0.25, TotalCost: 0.25},
			{Key: "search", CPUCost: 2, TotalCost: 2},
		},
		Rollup:   cost.Options{Idle: cost.Separate, Shared: cost.Separate},
		Currency: "USD",
		Now:      func() time.Time { return costNow },
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// runCost runs `kubectl canopy cost args...` as user against srv.
func runCost(t *testing.T, srv *httptest.Server, userName string, args ...string) (string, error) {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := NewRootCommand(RootOptions{IOStreams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Now: costNow})
	cmd.SetArgs(append([]string{"cost", "--kubeconfig", kc, "--server", srv.URL, "--insecure-skip-tls-verify", "--token", userName}, args...))
	err := cmd.Execute()
	return out.String(), err
}

const costHeader = "period_start,period_end,line,tenant,cost_center,team,team_path,namespace,path,cpu_cost,ram_cost,gpu_cost,pv_cost," +
	"network_cost,load_balancer_cost,external_cost,shared_cost,idle_cost,total_cost,currency,cpu_core_hours,ram_gib_hours\n"

func TestCostCSV(t *testing.T) {
	srv := costServer(t)
	got, err := runCost(t, srv, "alice", "pay", "--window", "2026-10-01,2026-10-03", "-o", "csv")
	if err != nil {
		t.Fatal(err)
	}
	p := "2026-10-01T00:00:00Z,2026-10-03T00:00:00Z,tenant,pay,CC-1,pay,pay,"
	z := "0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
	want := costHeader +
		p + "pay,pay,3.00,0.00," + z + "3.00,USD,0.000000,0.000000\n" +
		p + "pay-api,pay/pay-api,0.00,0.50," + z + "0.50,USD,0.000000,0.000000\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cost -o csv (-want +got):\n%s", diff)
	}
}

func TestCostAllTenantsTable(t *testing.T) {
	srv := costServer(t)
	got, err := runCost(t, srv, "finance", "--window", "2026-10-01,2026-10-02")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "WINDOW 2026-10-01T00:00:00Z .. 2026-10-02T00:00:00Z") ||
		strings.Fields(lines[1])[0] != "TENANT" || !slices.Equal(strings.Fields(lines[4]), []string{"search", "search", "search", "2.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "2.00", "USD"}) {
		t.Errorf("table:\n%s", got)
	}
	got, err = runCost(t, srv, "finance", "--window", "2026-10-01,2026-10-02", "-o", "csv", "--summary")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(got, "period_start"); n != 1 || !strings.Contains(got, ",tenant,pay,CC-1,pay,pay,") || !strings.Contains(got, ",tenant,search,") {
		t.Errorf("summary CSV of all tenants has %d headers:\n%s", n, got)
	}
}

func TestCostJSON(t *testing.T) {
	srv := costServer(t)
	got, err := runCost(t, srv, "alice", "pay", "--window", "lastmonth", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc costapi.Document
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatal(err)
	}
	// October: 31 days of 1.5 for pay.
	if doc.Tenant != "pay" || doc.Window.Start != "2026-10-01T00:00:00Z" || len(doc.Rows) != 2 || doc.Rows[0].Total != "46.500000" {
		t.Errorf("document %+v", doc)
	}
	got, err = runCost(t, srv, "finance", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Kind  string             `json:"kind"`
		Items []costapi.Document `json:"items"`
	}
	if err := json.Unmarshal([]byte(got), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "ChargebackList" || len(list.Items) != 2 || list.Items[0].Tenant != "pay" || list.Items[1].Tenant != "search" {
		t.Errorf("list %+v", list)
	}
}

func TestCostErrors(t *testing.T) {
	srv := costServer(t)
	tests := []struct {
		name, user string
		args       []string
		want       string
	}{
		{"forbidden", "alice", []string{"search"}, `tenants.tenancy.canopy.dev "search" is forbidden: User "alice" cannot get`},
		{"unknown tenant", "finance", []string{"ghost"}, `tenants.tenancy.canopy.dev "ghost" not found`},
		{"bad window", "alice", []string{"pay", "--window", "lastweek"}, "lastmonth"},
		{"bad output", "alice", []string{"pay", "-o", "yaml"}, "must be table, csv or json"},
		{"sees nothing", "mallory", nil, "you may see the cost of no tenant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCost(t, srv, tc.user, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
				t.Errorf("error %v, output %q; want an error containing %q and no output", err, out, tc.want)
			}
		})
	}
	missing := httptest.NewTLSServer(http.NotFoundHandler())
	defer missing.Close()
	if _, err := runCost(t, missing, "alice", "pay"); err == nil || !strings.Contains(err.Error(), "is the cost API installed") {
		t.Errorf("without the API: %v, want a hint", err)
	}
}
