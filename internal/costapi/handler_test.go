package costapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

var (
	now = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
)

// headerAuthn trusts X-Test-User, standing in for the front proxy.
type headerAuthn struct{}

func (headerAuthn) AuthenticateRequest(r *http.Request) (*authenticator.Response, bool, error) {
	name := r.Header.Get("X-Test-User")
	if name == "" {
		return nil, false, nil
	}
	return &authenticator.Response{User: &user.DefaultInfo{Name: name}}, true, nil
}

// grants maps a user to the tenants they may get; "*" may list and get all.
type grants map[string][]string

func (g grants) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetAPIGroup() != TenantResource.Group || a.GetResource() != TenantResource.Resource {
		return authorizer.DecisionNoOpinion, "", nil
	}
	names := g[a.GetUser().GetName()]
	if slices.Contains(names, "*") || a.GetVerb() == "get" && slices.Contains(names, a.GetName()) {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

type staticSource cost.Directory

func (s staticSource) Directory(context.Context) (cost.Directory, error) {
	return cost.Directory(s), nil
}

// fakeOpenCost serves the same allocations for each daily step of the
// window, or fails after failAfter steps.
type fakeOpenCost struct {
	allocs    []opencost.Allocation
	failAfter int
	err       error
}

func (f *fakeOpenCost) Allocations(_ context.Context, w period.Window, visit func(*opencost.Step) error) (opencost.Response, error) {
	for i, s := range period.Steps(w, 24*time.Hour) {
		if f.err != nil && i == f.failAfter {
			return opencost.Response{}, f.err
		}
		if err := visit(&opencost.Step{Index: i, Window: s, Allocations: slices.Clone(f.allocs)}); err != nil {
			return opencost.Response{}, err
		}
	}
	return opencost.Response{Code: 200}, nil
}

func testDirectory() cost.Directory {
	return cost.Directory{
		Tenants: map[string]cost.Tenant{
			"pay":    {Name: "pay", CostCenter: "CC-1", Teams: []cost.Team{{Name: "api", Root: "pay-api"}}},
			"search": {Name: "search", CostCenter: "CC-2"},
		},
		Namespaces: map[string]cost.LiveNamespace{
			"pay":     {Tenant: "pay", Path: []string{"pay"}},
			"pay-api": {Tenant: "pay", Path: []string{"pay", "pay-api"}},
			"search":  {Tenant: "search", Path: []string{"search"}},
		},
	}
}

func testAllocations() []opencost.Allocation {
	return []opencost.Allocation{
		{Key: "pay", CPUCost: 1, TotalCost: 1},
		{Key: "pay-api", CPUCost: 3, RAMCost: 0.005, TotalCost: 3.005},
		{Key: "search", CPUCost: 2, TotalCost: 2},
		{Key: opencost.KeyIdle, CPUCost: 6, TotalCost: 6},
	}
}

func newTestHandler(oc opencost.Client) *Handler {
	return &Handler{
		Authenticator: headerAuthn{},
		Authorizer:    grants{"alice": {"pay"}, "finance": {"*"}, "nobody": {"ghost"}},
		Source:        staticSource(testDirectory()),
		OpenCost:      oc,
		Rollup:        cost.Options{Idle: cost.Weighted, Shared: cost.Separate},
		Currency:      "USD",
		Now:           func() time.Time { return now },
	}
}

func do(t *testing.T, h http.Handler, userName, path string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if userName != "" {
		r.Header.Set("X-Test-User", userName)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func status(t *testing.T, w *httptest.ResponseRecorder) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Kind != "Status" {
		t.Fatalf("body %q is not a Status: %v", w.Body.String(), err)
	}
	return st
}

func chargebackURL(tenant string, q url.Values) string {
	return ChargebackPath(tenant) + "?" + q.Encode()
}

func TestChargebackCSV(t *testing.T) {
	h := newTestHandler(&fakeOpenCost{allocs: testAllocations()})
	w := do(t, h, "alice", chargebackURL("pay", url.Values{"window": {"2026-10-01,2026-10-03"}}))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type = %q", ct)
	}
	// Over two days pay spends 2 (pay) + 6.01 (pay-api) of the 12.01
	// tenants spend, so it carries that share of the 12 of idle cost:
	// 12*2/12.01 = 1.998335 and 12*6.01/12.01 = 6.004996.
	p := "2026-10-01T00:00:00Z,2026-10-03T00:00:00Z,tenant,pay,CC-1,"
	want := strings.Join(cost.NamespaceHeader, ",") + "\n" +
		p + "pay,pay,pay,pay,2.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,2.00,4.00,USD,0.000000,0.000000\n" +
		p + "api,pay/pay-api,pay-api,pay/pay-api,6.00,0.01,0.00,0.00,0.00,0.00,0.00,0.00,6.00,12.01,USD,0.000000,0.000000\n"
	if diff := cmp.Diff(want, w.Body.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
	if _, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll(); err != nil {
		t.Errorf("CSV does not parse: %v", err)
	}
}

func TestChargebackSummaryJSON(t *testing.T) {
	h := newTestHandler(&fakeOpenCost{allocs: testAllocations()})
	w := do(t, h, "finance", chargebackURL("pay", url.Values{"window": {"2026-10-01,2026-10-02"}, "format": {"json"}, "summary": {"true"}}))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var doc Document
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range doc.Rows {
		got = append(got, r.TeamPath+"="+r.Total)
	}
	// One day: pay's 4.005 of the tenants' 6.005 carries 6*4.005/6.005 =
	// 4.001665 of idle, of which pay-api's 3.005 carries 3.002498.
	want := []string{"pay=8.006665", "pay/pay-api=6.007498"}
	if diff := cmp.Diff(want, got); diff != "" || doc.Kind != KindChargeback || doc.Tenant != "pay" || !doc.Summary ||
		doc.Window.Start != "2026-10-01T00:00:00Z" || doc.Currency != "USD" {
		t.Errorf("summary rows (-want +got):\n%s\ndocument %+v", diff, doc)
	}
}

func TestChargebackErrors(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		path     string
		oc       *fakeOpenCost
		code     int32
		reason   metav1.StatusReason
		contains string
	}{
		{name: "unauthenticated", path: chargebackURL("pay", nil), code: 401, reason: metav1.StatusReasonUnauthorized},
		{name: "other tenant", user: "alice", path: chargebackURL("search", nil), code: 403, reason: metav1.StatusReasonForbidden, contains: `tenants.tenancy.canopy.dev "search" is forbidden: User "alice" cannot get resource "tenants" in API group "tenancy.canopy.dev"`},
		{name: "unbound user", user: "mallory", path: chargebackURL("pay", nil), code: 403, reason: metav1.StatusReasonForbidden},
		{name: "unknown tenant", user: "nobody", path: chargebackURL("ghost", nil), code: 404, reason: metav1.StatusReasonNotFound},
		{name: "bad window", user: "alice", path: chargebackURL("pay", url.Values{"window": {"lastweek"}}), code: 400, reason: metav1.StatusReasonBadRequest, contains: period.AcceptedForms},
		{name: "inverted window", user: "alice", path: chargebackURL("pay", url.Values{"window": {"2026-10-02,2026-10-01"}}), code: 400, reason: metav1.StatusReasonBadRequest, contains: "is not after start"},
		{name: "bad format", user: "alice", path: chargebackURL("pay", url.Values{"format": {"xml"}}), code: 400, reason: metav1.StatusReasonBadRequest, contains: `want "csv" or "json"`},
		{name: "bad summary", user: "alice", path: chargebackURL("pay", url.Values{"summary": {"maybe"}}), code: 400, reason: metav1.StatusReasonBadRequest, contains: "summary"},
		{name: "opencost fails mid-window", user: "alice", path: chargebackURL("pay", url.Values{"window": {"2026-10-01,2026-10-05"}}),
			oc:   &fakeOpenCost{allocs: testAllocations(), failAfter: 2, err: &opencost.MalformedError{Where: "data[2]", Err: errors.New("bad")}},
			code: 503, reason: metav1.StatusReasonServiceUnavailable, contains: opencost.ReasonMalformed},
		{name: "unknown path", user: "alice", path: PathTenants + "/pay/usage", code: 404, reason: metav1.StatusReasonNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oc := tc.oc
			if oc == nil {
				oc = &fakeOpenCost{allocs: testAllocations()}
			}
			w := do(t, newTestHandler(oc), tc.user, tc.path)
			st := status(t, w)
			if int32(w.Code) != tc.code || st.Code != tc.code || st.Reason != tc.reason || !strings.Contains(st.Message, tc.contains) {
				t.Errorf("got %d %+v, want %d %s with a message containing %q", w.Code, st, tc.code, tc.reason, tc.contains)
			}
			if strings.Contains(w.Body.String(), "period_start") {
				t.Errorf("an error response carries CSV: %q", w.Body)
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	h := newTestHandler(&fakeOpenCost{})
	var groups metav1.APIGroupList
	decode(t, do(t, h, "anyone", "/apis"), &groups)
	if len(groups.Groups) != 1 || groups.Groups[0].Name != Group || groups.Groups[0].PreferredVersion.GroupVersion != "cost.canopy.dev/v1alpha1" {
		t.Errorf("/apis = %+v", groups)
	}
	var group metav1.APIGroup
	decode(t, do(t, h, "anyone", "/apis/cost.canopy.dev"), &group)
	if group.Kind != "APIGroup" || group.Name != Group {
		t.Errorf("group = %+v", group)
	}
	var resources metav1.APIResourceList
	decode(t, do(t, h, "anyone", "/apis/cost.canopy.dev/v1alpha1"), &resources)
	var names []string
	for _, r := range resources.APIResources {
		names = append(names, r.Name)
	}
	if resources.GroupVersion != "cost.canopy.dev/v1alpha1" || !cmp.Equal(names, []string{"tenants", "tenants/chargeback"}) {
		t.Errorf("resources = %+v", resources)
	}
}

func decode(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if err := json.NewDecoder(io.Reader(w.Body)).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestTenants(t *testing.T) {
	h := newTestHandler(&fakeOpenCost{})
	names := func(userName string) []string {
		var list TenantList
		decode(t, do(t, h, userName, PathTenants), &list)
		out := []string{}
		for _, it := range list.Items {
			out = append(out, it.Name)
		}
		return out
	}
	for userName, want := range map[string][]string{"alice": {"pay"}, "finance": {"pay", "search"}, "mallory": {}} {
		if got := names(userName); !cmp.Equal(want, got) {
			t.Errorf("tenants for %s = %v, want %v", userName, got, want)
		}
	}
	var tn Tenant
	decode(t, do(t, h, "alice", PathTenants+"/pay"), &tn)
	if tn.Name != "pay" || tn.Kind != KindTenant {
		t.Errorf("tenant = %+v", tn)
	}
	if w := do(t, h, "alice", PathTenants+"/search"); w.Code != http.StatusForbidden {
		t.Errorf("alice got search: %d", w.Code)
	}
}

func TestParseQueryDefaults(t *testing.T) {
	w, f, s, err := ParseQuery(url.Values{}, now)
	if err != nil || f != FormatCSV || s || w.Start != time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) || w.End != now {
		t.Errorf("ParseQuery({}) = %v %v %v %v, want month to date as CSV", w, f, s, err)
	}
}

func TestChargebackRefusedUntilForestLoaded(t *testing.T) {
	h := newTestHandler(&fakeOpenCost{allocs: testAllocations()})
	h.Loaded = func() bool { return false }
	w := do(t, h, "alice", chargebackURL("pay", nil))
	if st := status(t, w); st.Code != http.StatusServiceUnavailable || !strings.Contains(st.Message, "Canopy is starting") {
		t.Errorf("before the forest loaded: %+v", st)
	}
}

func TestParseQueryCapsTheWindow(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for win, ok := range map[string]bool{
		"2025-01-01,2026-02-05":                     true,  // 400 days
		"2025-01-01,2026-02-06":                     false, // 401 days
		"2025-01-01T00:00:00Z,2026-02-05T00:00:01Z": false,
		"0002-01-01,9999-12-31":                     false,
		"lastmonth":                                 true,
		"mtd":                                       true,
	} {
		_, _, _, err := ParseQuery(map[string][]string{"window": {win}}, now)
		if ok != (err == nil) {
			t.Errorf("window %s: %v, want accepted=%v", win, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "maximum of 400 days") {
			t.Errorf("window %s: %v, want the message to name the 400-day maximum", win, err)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(3, 2)
	r1, e1 := l.acquire("alice")
	_, e2 := l.acquire("alice")
	_, e3 := l.acquire("alice")
	if e1 != nil || e2 != nil || e3 == nil || e3.Status().Code != 429 || !strings.Contains(e3.Error(), `user "alice" already has 2`) {
		t.Fatalf("alice's three: %v %v %v", e1, e2, e3)
	}
	_, e4 := l.acquire("bob")
	_, e5 := l.acquire("carol")
	if e4 != nil || e5 == nil || !strings.Contains(e5.Error(), "3 chargebacks are in progress") {
		t.Fatalf("bob, carol: %v %v", e4, e5)
	}
	r1()
	r1() // a second release does nothing
	if _, e := l.acquire("carol"); e != nil {
		t.Fatalf("carol after a release: %v", e)
	}
	if _, e := l.acquire("dave"); e == nil {
		t.Fatal("a double release freed two slots")
	}
}
