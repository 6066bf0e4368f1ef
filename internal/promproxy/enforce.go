package promproxy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus-community/prom-label-proxy/injectproxy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Rules say which label confines each selector of a query.
type Rules struct {
	// NamespaceLabel confines every selector the other rules do not name;
	// empty means "namespace".
	NamespaceLabel string
	// TenantLabel confines the selectors of metrics named with
	// TenantMetricPrefix; empty means "tenant".
	TenantLabel string
	// TenantMetricPrefix names the metrics labelled by tenant rather than
	// namespace; empty means "canopy_tenant_".
	TenantMetricPrefix string
	// ClusterMetrics are read unfiltered: they describe the cluster, not a
	// tenant. Nil means DefaultClusterMetrics.
	ClusterMetrics []string
}

// DefaultClusterMetrics are OpenCost's node price lists, which the cost
// panels multiply allocations by.
var DefaultClusterMetrics = []string{"node_cpu_hourly_cost", "node_ram_hourly_cost", "node_gpu_hourly_cost"}

func (r Rules) namespaceLabel() string {
	if r.NamespaceLabel != "" {
		return r.NamespaceLabel
	}
	return "namespace"
}

func (r Rules) tenantLabel() string {
	if r.TenantLabel != "" {
		return r.TenantLabel
	}
	return "tenant"
}

func (r Rules) tenantMetricPrefix() string {
	if r.TenantMetricPrefix != "" {
		return r.TenantMetricPrefix
	}
	return "canopy_tenant_"
}

func (r Rules) clusterMetrics() []string {
	if r.ClusterMetrics != nil {
		return r.ClusterMetrics
	}
	return DefaultClusterMetrics
}

// Scope is what one request may read.
type Scope struct {
	Tenant string
	// Namespaces is never empty: a tenant without namespaces is refused
	// before a query is looked at.
	Namespaces []string
}

// ErrBadQuery is returned, wrapped, for a query that does not parse.
var ErrBadQuery = errors.New("bad query")

// namespaceMatcher is the matcher injectproxy itself builds for a set of
// values: equality for one, a quoted alternation for several.
func (r Rules) namespaceMatcher(namespaces []string) (*labels.Matcher, error) {
	if len(namespaces) == 1 {
		return labels.NewMatcher(labels.MatchEqual, r.namespaceLabel(), namespaces[0])
	}
	quoted := make([]string, len(namespaces))
	for i, ns := range namespaces {
		quoted[i] = regexp.QuoteMeta(ns)
	}
	return labels.NewMatcher(labels.MatchRegexp, r.namespaceLabel(), strings.Join(quoted, "|"))
}

// Enforce rewrites a PromQL query so it reads only what s may read: each
// selector gets the namespace matcher, the tenant matcher for the tenant's
// own Canopy metrics, or nothing for a cluster metric named exactly.
func (r Rules) Enforce(query string, s Scope) (string, error) {
	if len(s.Namespaces) == 0 || s.Tenant == "" {
		return "", fmt.Errorf("enforcing query: empty scope")
	}
	expr, err := parser.ParseExpr(query)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	nsMatcher, err := r.namespaceMatcher(s.Namespaces)
	if err != nil {
		return "", fmt.Errorf("building namespace matcher: %w", err)
	}
	tenantMatcher, err := labels.NewMatcher(labels.MatchEqual, r.tenantLabel(), s.Tenant)
	if err != nil {
		return "", fmt.Errorf("building tenant matcher: %w", err)
	}
	// errorOnReplace is off: a selector asking for another namespace keeps
	// its matcher beside the enforced one and so matches nothing, and a
	// tenant matcher (an equality) replaces whatever tenant was asked for.
	byNamespace := injectproxy.NewPromQLEnforcer(false, nsMatcher)
	byTenant := injectproxy.NewPromQLEnforcer(false, tenantMatcher)

	var walkErr error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok || walkErr != nil {
			return nil
		}
		name := exactMetricName(vs)
		var e *injectproxy.PromQLEnforcer
		switch {
		case name != "" && slices.Contains(r.clusterMetrics(), name):
			return nil
		case name != "" && strings.HasPrefix(name, r.tenantMetricPrefix()):
			e = byTenant
		default:
			e = byNamespace
		}
		ms, err := e.EnforceMatchers(vs.LabelMatchers)
		if err != nil {
			walkErr = fmt.Errorf("enforcing matchers of %s: %w", vs.String(), err)
			return nil
		}
		vs.LabelMatchers = ms
		return nil
	})
	if walkErr != nil {
		return "", walkErr
	}
	return expr.String(), nil
}

// exactMetricName returns the metric a selector names with __name__="...",
// or "" when it names none or selects names by regexp. Further __name__
// matchers only narrow an exact name, so they do not matter.
func exactMetricName(vs *parser.VectorSelector) string {
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}
