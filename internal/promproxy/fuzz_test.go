package promproxy

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// confined reports why a selector of the enforced query is not confined to
// s, or "".
func confined(r Rules, s Scope, vs *parser.VectorSelector) string {
	name := exactMetricName(vs)
	if name != "" && slices.Contains(r.clusterMetrics(), name) {
		return ""
	}
	want, _ := r.namespaceMatcher(s.Namespaces)
	if name != "" && strings.HasPrefix(name, r.tenantMetricPrefix()) {
		want, _ = labels.NewMatcher(labels.MatchEqual, r.tenantLabel(), s.Tenant)
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == want.Name && m.Type == want.Type && m.Value == want.Value {
			return ""
		}
	}
	return "selector " + vs.String() + " lacks " + want.String()
}

// FuzzEnforce feeds arbitrary PromQL to the enforcer and checks that every
// selector of what it returns, including those inside subqueries, binary
// operations and function arguments, carries the scope's namespace matcher
// (or the tenant matcher for the tenant's own metrics, or nothing only for
// a cluster metric named exactly), that the result parses, and that
// enforcing it again keeps it confined.
func FuzzEnforce(f *testing.F) {
	for _, q := range []string{
		"up", `up{namespace="b"}`, `sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))`,
		`{__name__=~"node_.*"}`, `node_cpu_hourly_cost * on(node) group_left kube_pod_info`,
		`canopy_tenant_quota_used{tenant="other"}`, `max_over_time(up[1h:1m] offset 5m)`,
		`label_replace(up, "namespace", "b", "", "")`, `up or vector(1)`, `{__name__="canopy_tenant_x", tenant=~".*"}`,
		`absent(nonexistent{namespace="b"})`, `count({namespace=~".+"})`,
	} {
		f.Add(q)
	}
	scopes := []Scope{
		{Tenant: "a", Namespaces: []string{"a"}},
		{Tenant: "a", Namespaces: []string{"a", "a-dev", "a.b"}},
	}
	var r Rules
	f.Fuzz(func(t *testing.T, query string) {
		for _, s := range scopes {
			out, err := r.Enforce(query, s)
			if err != nil {
				continue
			}
			expr, err := parser.ParseExpr(out)
			if err != nil {
				t.Fatalf("enforced %q into %q, which does not parse: %v", query, out, err)
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					if why := confined(r, s, vs); why != "" {
						t.Fatalf("query %q enforced as %q: %s", query, out, why)
					}
				}
				return nil
			})
			again, err := r.Enforce(out, s)
			if err != nil {
				t.Fatalf("enforcing the enforced %q failed: %v", out, err)
			}
			reparsed, err := parser.ParseExpr(again)
			if err != nil {
				t.Fatalf("re-enforced %q does not parse: %v", again, err)
			}
			parser.Inspect(reparsed, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					if why := confined(r, s, vs); why != "" {
						t.Fatalf("re-enforced %q: %s", again, why)
					}
				}
				return nil
			})
		}
	})
}
