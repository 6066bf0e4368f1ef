package promproxy

import (
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

var scopeA = Scope{Tenant: "a", Namespaces: []string{"a", "a-dev"}}

func TestEnforceRewrites(t *testing.T) {
	tests := []struct {
		name, query, want string
	}{
		{"bare metric", `up`, `up{namespace=~"a|a-dev"}`},
		{"own namespace kept", `up{namespace="a"}`, `up{namespace="a",namespace=~"a|a-dev"}`},
		{"other tenant's namespace kept beside, so nothing matches", `up{namespace="b"}`, `up{namespace="b",namespace=~"a|a-dev"}`},
		{"regexp widening kept beside", `up{namespace=~".+"}`, `up{namespace=~".+",namespace=~"a|a-dev"}`},
		{"matrix in a function", `rate(cpu[5m])`, `rate(cpu{namespace=~"a|a-dev"}[5m])`},
		{"subquery", `max_over_time(up[1h:5m])`, `max_over_time(up{namespace=~"a|a-dev"}[1h:5m])`},
		{"both sides of a join", `a_metric * on (node) group_left () b_metric`,
			`a_metric{namespace=~"a|a-dev"} * on (node) group_left () b_metric{namespace=~"a|a-dev"}`},
		{"selector without a name", `{job="x"}`, `{job="x",namespace=~"a|a-dev"}`},
		{"tenant metric gets the tenant, replacing another", `canopy_tenant_cost{tenant="b"}`, `canopy_tenant_cost{tenant="a"}`},
		{"tenant metric without tenant", `sum(canopy_tenant_budget_ratio)`, `sum(canopy_tenant_budget_ratio{tenant="a"})`},
		{"cluster price list unfiltered", `avg by (node) (node_cpu_hourly_cost)`, `avg by (node) (node_cpu_hourly_cost)`},
		{"price list by regexp name is not exempt", `{__name__=~"node_cpu_hourly_cost|secret"}`,
			`{__name__=~"node_cpu_hourly_cost|secret",namespace=~"a|a-dev"}`},
		{"prefix by regexp name is not a tenant metric", `{__name__=~"canopy_tenant_.*"}`,
			`{__name__=~"canopy_tenant_.*",namespace=~"a|a-dev"}`},
		{"number only", `1 + 1`, `1 + 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Rules{}.Enforce(tt.query, scopeA)
			if err != nil {
				t.Fatalf("Enforce(%q): %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("Enforce(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestEnforceSingleNamespaceAndQuoting(t *testing.T) {
	got, err := Rules{}.Enforce(`up`, Scope{Tenant: "x", Namespaces: []string{"x"}})
	if err != nil || got != `up{namespace="x"}` {
		t.Errorf("one namespace: got %q, %v", got, err)
	}
	// Namespace names are DNS labels, but the values are quoted anyway.
	got, err = Rules{}.Enforce(`up`, Scope{Tenant: "x", Namespaces: []string{"x", "y.z"}})
	if err != nil || got != `up{namespace=~"x|y\\.z"}` {
		t.Errorf("quoting: got %q, %v", got, err)
	}
}

// TestEnforcedQueriesSeeOnlyTheScope checks the meaning, not the text: a
// series of another tenant matches no selector of any rewritten query.
func TestEnforcedQueriesSeeOnlyTheScope(t *testing.T) {
	own := labels.FromStrings(labels.MetricName, "up", "namespace", "a-dev")
	foreign := labels.FromStrings(labels.MetricName, "up", "namespace", "b")
	unlabelled := labels.FromStrings(labels.MetricName, "up")
	ownCost := labels.FromStrings(labels.MetricName, "canopy_tenant_cost", "tenant", "a")
	foreignCost := labels.FromStrings(labels.MetricName, "canopy_tenant_cost", "tenant", "b")
	for _, q := range []string{
		`up`, `up{namespace="b"}`, `up{namespace=~"b|a-dev"}`, `up{namespace!="a"}`, `{__name__=~"up|x"}`,
		`canopy_tenant_cost`, `canopy_tenant_cost{tenant="b"}`, `canopy_tenant_cost{tenant=~".*"}`,
	} {
		enforced, err := Rules{}.Enforce(q, scopeA)
		if err != nil {
			t.Fatalf("Enforce(%q): %v", q, err)
		}
		for _, series := range []labels.Labels{foreign, unlabelled, foreignCost} {
			if visible(t, enforced, series) {
				t.Errorf("query %q (enforced %q) selects %v", q, enforced, series)
			}
		}
	}
	for q, series := range map[string]labels.Labels{`up`: own, `up{namespace=~"b|a-dev"}`: own, `canopy_tenant_cost`: ownCost} {
		enforced, err := Rules{}.Enforce(q, scopeA)
		if err != nil {
			t.Fatalf("Enforce(%q): %v", q, err)
		}
		if !visible(t, enforced, series) {
			t.Errorf("query %q (enforced %q) does not select own series %v", q, enforced, series)
		}
	}
}

// visible reports whether any selector of query selects series.
func visible(t *testing.T, query string, series labels.Labels) bool {
	t.Helper()
	expr, err := parser.ParseExpr(query)
	if err != nil {
		t.Fatalf("parsing %q: %v", query, err)
	}
	found := false
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		all := true
		for _, m := range vs.LabelMatchers {
			if !m.Matches(series.Get(m.Name)) {
				all = false
			}
		}
		found = found || all
		return nil
	})
	return found
}

func TestEnforceErrors(t *testing.T) {
	if _, err := (Rules{}).Enforce(`sum(`, scopeA); !errors.Is(err, ErrBadQuery) {
		t.Errorf("unparsable query: got %v, want ErrBadQuery", err)
	}
	if _, err := (Rules{}).Enforce(`up`, Scope{Tenant: "a"}); err == nil {
		t.Error("empty scope: got no error")
	}
}
