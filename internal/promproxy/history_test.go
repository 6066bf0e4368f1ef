package promproxy

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestLookbehind(t *testing.T) {
	for q, want := range map[string]time.Duration{
		"up":                               5 * time.Minute,
		"rate(up[10m])":                    10 * time.Minute,
		"up offset 1h":                     time.Hour + 5*time.Minute,
		"rate(up[5m] offset 1d)":           24*time.Hour + 5*time.Minute,
		"max_over_time(up[1d:1m])":         24*time.Hour + time.Minute + 5*time.Minute,
		"max_over_time(rate(up[2m])[1h:])": time.Hour + 2*time.Minute,
		"up offset -1h":                    5 * time.Minute,
		"vector(1)":                        0,
		"up + on() rate(x[30m])":           30 * time.Minute,
	} {
		expr, err := parser.ParseExpr(q)
		if err != nil {
			t.Fatal(err)
		}
		got, err := lookbehind(expr, DefaultLookback)
		if err != nil || got != want {
			t.Errorf("lookbehind(%s) = %v, %v; want %v", q, got, err, want)
		}
	}
	for _, q := range []string{"up @ 0", "up @ start()", "rate(up[5m] @ 100)", "max_over_time(up[1h:1m] @ 0)"} {
		expr, err := parser.ParseExpr(q)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lookbehind(expr, DefaultLookback); !errors.Is(err, ErrAtModifier) {
			t.Errorf("lookbehind(%s): %v, want ErrAtModifier", q, err)
		}
	}
}

// TestYoungNamespacesLeftOutOfOlderReads: a-dev was created an hour ago;
// a query that reads before then leaves it out, one that does not keeps
// it, and metadata reads start at its creation.
func TestYoungNamespacesLeftOutOfOlderReads(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	created := map[string]time.Time{"a": now.Add(-48 * time.Hour), "a-dev": now.Add(-time.Hour)}
	f.cfg.NamespaceCreated = func(ns string) (time.Time, bool) { c, ok := created[ns]; return c, ok }
	h, err := NewHandler(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.handler = h
	token := Token(testKey, "a", fixtureUID("a"))
	sec := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	for _, tc := range []struct {
		target, want string
	}{
		{"/tenants/a/api/v1/query?query=up", `up{namespace=~"a|a-dev"}`},
		{"/tenants/a/api/v1/query?query=" + url.QueryEscape("rate(up[2h])"), `rate(up{namespace="a"}[2h])`},
		{"/tenants/a/api/v1/query?query=up&time=" + sec(-2*time.Hour), `up{namespace="a"}`},
		{"/tenants/a/api/v1/query_range?query=up&step=60&end=" + sec(0) + "&start=" + sec(-30*time.Minute), `up{namespace=~"a|a-dev"}`},
		{"/tenants/a/api/v1/query_range?query=up&step=60&end=" + sec(0) + "&start=" + sec(-7*24*time.Hour), `up{namespace="-"}`},
	} {
		if w := f.do(t, http.MethodGet, tc.target, token, nil); w.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.target, w.Code, w.Body.String())
		}
		if _, form := f.up.got(); form.Get("query") != tc.want {
			t.Errorf("%s: upstream query %q, want %q", tc.target, form.Get("query"), tc.want)
		}
	}
	if w := f.do(t, http.MethodPost, "/tenants/a/api/v1/query", token, url.Values{"query": {"up"}, "time": {sec(-2 * time.Hour)}}); w.Code != http.StatusOK {
		t.Fatalf("POST: status %d", w.Code)
	} else if _, form := f.up.got(); form.Get("query") != `up{namespace="a"}` {
		t.Errorf("POST with an old time: upstream query %q", form.Get("query"))
	}
	if w := f.do(t, http.MethodGet, "/tenants/a/api/v1/query?query="+url.QueryEscape("up @ 0"), token, nil); w.Code != http.StatusBadRequest {
		t.Errorf("@ modifier: status %d, want 400", w.Code)
	}
	// Metadata starts at a-dev's creation.
	if w := f.do(t, http.MethodGet, "/tenants/a/api/v1/series?match[]=up&start=0", token, nil); w.Code != http.StatusOK {
		t.Fatalf("series: status %d", w.Code)
	}
	_, form := f.up.got()
	start, err := parseTime(form.Get("start"))
	if err != nil || start.Before(created["a-dev"]) {
		t.Errorf("series start %q (%v), want at or after %v", form.Get("start"), err, created["a-dev"])
	}
}
