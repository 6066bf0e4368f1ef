package escalation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/costapi"
)

// TestLeadCannotReadAnotherTenantsCost reads cost.canopy.dev through the
// real kube-apiserver as esa's lead.
func TestLeadCannotReadAnotherTenantsCost(t *testing.T) {
	f := fixture(t)
	ctx := context.Background()
	// The lead reads their own chargeback, once the Tenant controller has
	// let them get their Tenant: the API works, so the denials below are
	// about tenant esb.
	if err := poll(ctx, func(ctx context.Context) error {
		b, err := costGet(ctx, f.aliceCfg, costapi.ChargebackPath(tenantA), map[string]string{"window": "yesterday"})
		if err != nil {
			return fmt.Errorf("%w: %s", err, b)
		}
		if !strings.Contains(string(b), nsAPI) {
			return fmt.Errorf("own chargeback lacks %s: %s", nsAPI, b)
		}
		return nil
	}); err != nil {
		t.Fatalf("the lead reading their own chargeback: %v", err)
	}
	forbidden := q(`tenants.tenancy.canopy.dev "esb" is forbidden: User "alice" cannot get`)
	run(t, []row{
		{name: "another tenant's chargeback",
			try: func(ctx context.Context) error {
				_, err := costGet(ctx, f.aliceCfg, costapi.ChargebackPath(tenantB), map[string]string{"window": "yesterday"})
				return err
			},
			want: forbidden},
		{name: "another tenant's chargeback summary",
			try: func(ctx context.Context) error {
				_, err := costGet(ctx, f.aliceCfg, costapi.ChargebackPath(tenantB), map[string]string{"window": "yesterday", "format": "json", "summary": "true"})
				return err
			},
			want: forbidden},
		{name: "another tenant",
			try: func(ctx context.Context) error {
				_, err := costGet(ctx, f.aliceCfg, costapi.PathTenants+"/"+tenantB, nil)
				return err
			},
			want: forbidden},
	})
	t.Run("the tenant list shows only the lead's own", func(t *testing.T) {
		b, err := costGet(ctx, f.aliceCfg, costapi.PathTenants, nil)
		if err != nil {
			t.Fatal(err)
		}
		var list costapi.TenantList
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
		var names []string
		for _, it := range list.Items {
			names = append(names, it.Name)
		}
		if !slices.Equal(names, []string{tenantA}) {
			t.Errorf("the lead lists tenants %v, want only %q", names, tenantA)
		}
	})
}

// namespaceMatcher finds namespace=~"..." matchers in a selector.
var namespaceMatcher = regexp.MustCompile(`namespace=~"([^"]*)"`)

// TestLeadCannotReadAnotherTenantsSeries asks the tenant Prometheus proxy
// for esb's series with esa's token.
func TestLeadCannotReadAnotherTenantsSeries(t *testing.T) {
	f := fixture(t)
	ctx := context.Background()
	esaNamespaces := []string{tenantA, nsAPI, nsStaging, nsBatch, nsDecl, nsDeclKid, nsFull, nsFullHC}
	// enforced checks a selector reaching Prometheus is confined to esa's
	// namespaces and names none of esb's.
	enforced := func(sel string) error {
		// Some namespace=~ matcher must be exactly esa's namespaces (the
		// lead's own subnamespace may be among them); the user's own
		// matchers stay beside it.
		for _, m := range namespaceMatcher.FindAllStringSubmatch(sel, -1) {
			got := strings.Split(m[1], "|")
			ok := true
			for _, ns := range got {
				if ns != tenantA && !strings.HasPrefix(ns, tenantA+"-") {
					ok = false
				}
			}
			for _, ns := range esaNamespaces {
				if !slices.Contains(got, ns) {
					ok = false
				}
			}
			if ok {
				return nil
			}
		}
		return fmt.Errorf("selector %s is not confined to esa's namespaces", sel)
	}
	// The proxy's forest has loaded once esa's own token works.
	if err := poll(ctx, func(ctx context.Context) error {
		code, body, err := promGet(ctx, f, "/tenants/esa/api/v1/query?query=up", f.promToken)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("own query: %d %s", code, body)
		}
		return enforced(f.prom.last().Get("query"))
	}); err != nil {
		t.Fatalf("the lead querying their own series: %v", err)
	}

	t.Run("another tenant's route with esa's token", func(t *testing.T) {
		code, body, err := promGet(ctx, f, "/tenants/esb/api/v1/query?query=up", f.promToken)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusForbidden || !strings.Contains(body, `the token is not tenant \"esb\"'s`) {
			t.Errorf("got %d %s, want 403 naming the token", code, body)
		}
		if r := f.prom.last(); r != nil {
			t.Errorf("the request reached Prometheus: %v", r)
		}
	})
	t.Run("without a token", func(t *testing.T) {
		code, body, err := promGet(ctx, f, "/tenants/esb/api/v1/query?query=up", "")
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusUnauthorized || !strings.Contains(body, "a bearer token is required") {
			t.Errorf("got %d %s, want 401", code, body)
		}
	})
	t.Run("esb's own token opens esb's route (the refusal above is about the token)", func(t *testing.T) {
		if f.bobToken == f.promToken {
			t.Fatal("two tenants share a token")
		}
		code, body, err := promGet(ctx, f, "/tenants/esb/api/v1/query?query=up", f.bobToken)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusOK {
			t.Errorf("esb's token on esb's route: %d %s", code, body)
		}
		f.prom.last()
	})
	// Queries naming esb's namespace through esa's route are confined:
	// what reaches Prometheus carries esa's namespaces, and what comes back
	// holds esa's series and none of esb's, which Prometheus does hold.
	at := strconv.FormatInt(seriesAt.Unix(), 10)
	for _, c := range []struct {
		name, path, param string
		// wantESA: the answer must show esa's series (else it is empty).
		wantESA bool
	}{
		{"instant query of every namespace", "/api/v1/query?time=" + at + "&query=" + url.QueryEscape(`escalation_up`), "query", true},
		{"instant query naming esb's namespace", "/api/v1/query?time=" + at + "&query=" + url.QueryEscape(`escalation_up{namespace="esb-web"}`), "query", false},
		{"range query matching every namespace", "/api/v1/query_range?start=" + at + "&end=" + at + "&step=15&query=" + url.QueryEscape(`sum by (namespace) (escalation_up{namespace=~".+"})`), "query", true},
		{"series naming esb's namespace", "/api/v1/series?start=" + at + "&end=" + at + "&match[]=" + url.QueryEscape(`escalation_up{namespace="esb-web"}`), "match[]", false},
		{"series of every namespace", "/api/v1/series?start=" + at + "&end=" + at + "&match[]=" + url.QueryEscape(`escalation_up`), "match[]", true},
		{"label values of namespace", "/api/v1/label/namespace/values?start=" + at + "&end=" + at, "match[]", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body, err := promGet(ctx, f, "/tenants/esa"+c.path, f.promToken)
			if err != nil {
				t.Fatal(err)
			}
			if code != http.StatusOK {
				t.Fatalf("got %d %s", code, body)
			}
			if strings.Contains(body, nsBWeb) {
				t.Errorf("esa's lead read esb's series: %s", body)
			}
			if c.wantESA != strings.Contains(body, nsAPI) {
				t.Errorf("answer %s: showing esa's series is %v, want %v", body, !c.wantESA, c.wantESA)
			}
			r := f.prom.last()
			if r == nil {
				t.Fatal("nothing reached Prometheus")
			}
			sels := r[c.param]
			if len(sels) == 0 {
				t.Fatalf("Prometheus got no %s: %v", c.param, r)
			}
			for _, s := range sels {
				if err := enforced(s); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// Rules and alerts: Prometheus holds a rule and a firing alert for each
	// of esa-api and esb-web. The answer shows esa's and none of esb's.
	// Item 10: the trailing-slash paths too, as a backend that serves them
	// answers (Prometheus itself redirects them).
	for _, p := range []string{"/api/v1/rules", "/api/v1/alerts", "/api/v1/rules/", "/api/v1/alerts/"} {
		t.Run("esb's entries hidden from "+p, func(t *testing.T) {
			var code int
			var body string
			// Alerts fire after the first rule evaluation (1s).
			err := pollFor(ctx, 20*time.Second, func(ctx context.Context) error {
				var err error
				code, body, err = promGet(ctx, f, "/tenants/esa"+p, f.promToken)
				if err != nil {
					return err
				}
				f.prom.last()
				if code == http.StatusOK && !strings.Contains(body, nsAPI) {
					return fmt.Errorf("%s shows none of esa's entries yet: %s", p, body)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if code == http.StatusOK && strings.Contains(body, nsBWeb) {
				t.Errorf("%s answered %d with esb's entries: %s", p, code, body)
			}
			if code != http.StatusOK && (code < 400 || code >= 500) {
				t.Errorf("%s answered %d %s, want 200 filtered or a 4xx refusal", p, code, body)
			}
		})
	}
}
