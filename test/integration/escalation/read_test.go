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
var namespaceMatcher = regexp.MustCompile(`namespace=~?"([^"]*)"`)

// TestLeadCannotReadAnotherTenantsSeries asks the tenant Prometheus proxy
// for esb's series with esa's token.
func TestLeadCannotReadAnotherTenantsSeries(t *testing.T) {
	f := fixture(t)
	ctx := context.Background()
	esaNamespaces := []string{tenantA, nsAPI, nsStaging, nsBatch, nsDecl, nsDeclKid, nsFull, nsFullHC}
	// enforced checks a selector reaching Prometheus is confined to esa's
	// namespaces and names none of esb's.
	enforced := func(sel string) error {
		// Every namespace matcher the proxy added names only esa's
		// namespaces (a namespace younger than the query's earliest read
		// may be left out, down to none: "-"), and there is one. The
		// lead's own matchers are set aside first.
		proxy := sel
		for _, own := range []string{`namespace="esb-web"`, `namespace=~".+"`} {
			proxy = strings.ReplaceAll(proxy, own, "")
		}
		found := false
		for _, m := range namespaceMatcher.FindAllStringSubmatch(proxy, -1) {
			found = true
			for _, ns := range strings.Split(m[1], "|") {
				if ns != "-" && !slices.Contains(esaNamespaces, ns) && ns != nsLeadMade {
					return fmt.Errorf("selector %s admits %s, not esa's", sel, ns)
				}
			}
		}
		if !found {
			return fmt.Errorf("selector %s is not confined to esa's namespaces", sel)
		}
		return nil
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
		// The message names the token and tenant esb.
		if code != http.StatusForbidden || !strings.Contains(body, "token") || !strings.Contains(body, `tenant \"esb\"`) {
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
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, c := range []struct {
		name, path, param string
		// wantESA: the answer must show esa's series. Queries may not:
		// the proxy reads a namespace's series only from its creation on,
		// and a query looks back five minutes, before these namespaces
		// existed.
		wantESA bool
	}{
		{"instant query of every namespace", "/api/v1/query?query=" + url.QueryEscape(`escalation_up`), "query", false},
		{"instant query naming esb's namespace", "/api/v1/query?query=" + url.QueryEscape(`escalation_up{namespace="esb-web"}`), "query", false},
		{"range query matching every namespace", "/api/v1/query_range?start=" + now + "&end=" + now + "&step=15&query=" + url.QueryEscape(`sum by (namespace) (escalation_up{namespace=~".+"})`), "query", false},
		{"series naming esb's namespace", "/api/v1/series?match[]=" + url.QueryEscape(`escalation_up{namespace="esb-web"}`), "match[]", false},
		{"series of every namespace", "/api/v1/series?match[]=" + url.QueryEscape(`escalation_up`), "match[]", true},
		{"label values of namespace", "/api/v1/label/namespace/values", "match[]", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var code int
			var body string
			var r url.Values
			// Samples are scraped every second; the first may not be in.
			if err := pollFor(ctx, 20*time.Second, func(ctx context.Context) error {
				var err error
				if code, body, err = promGet(ctx, f, "/tenants/esa"+c.path, f.promToken); err != nil {
					return err
				}
				r = f.prom.last()
				if code == http.StatusOK && c.wantESA && !strings.Contains(body, nsAPI) {
					return fmt.Errorf("answer shows none of esa's series yet: %s", body)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if code != http.StatusOK {
				t.Fatalf("got %d %s", code, body)
			}
			if strings.Contains(body, nsBWeb) {
				t.Errorf("esa's lead read esb's series: %s", body)
			}
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
