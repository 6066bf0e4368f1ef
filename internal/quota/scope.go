package quota

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// UnscopedSingletonName is the ResourceQuota singleton that tracks unscoped
// usage in every namespace under a quota; HNC uses the same name.
const UnscopedSingletonName = "hrq.hnc.x-k8s.io"

// scopedSingletonPrefix starts the name of a scoped ResourceQuota singleton.
const scopedSingletonPrefix = "hq.tenancy.canopy.dev-"

// ScopeKey renders a scope selector canonically, so that equal selectors get
// equal keys: requirements sorted and deduplicated, values sorted,
// deduplicated and query-escaped, joined by "; ". A nil or empty selector is
// the unscoped key "". Example: "PriorityClass In (high,low); Terminating
// Exists".
func ScopeKey(sel *corev1.ScopeSelector) string {
	if sel == nil || len(sel.MatchExpressions) == 0 {
		return ""
	}
	reqs := make([]string, 0, len(sel.MatchExpressions))
	for _, e := range sel.MatchExpressions {
		req := string(e.ScopeName) + " " + string(e.Operator)
		if len(e.Values) > 0 {
			vals := make([]string, 0, len(e.Values))
			for _, v := range e.Values {
				vals = append(vals, url.QueryEscape(v))
			}
			slices.Sort(vals)
			vals = slices.Compact(vals)
			req += " (" + strings.Join(vals, ",") + ")"
		}
		reqs = append(reqs, req)
	}
	slices.Sort(reqs)
	return strings.Join(slices.Compact(reqs), "; ")
}

// ParseScopeKey turns a key from ScopeKey back into a selector; "" gives nil.
func ParseScopeKey(key string) (*corev1.ScopeSelector, error) {
	if key == "" {
		return nil, nil
	}
	sel := &corev1.ScopeSelector{}
	for _, req := range strings.Split(key, "; ") {
		head, vals, hasVals := strings.Cut(req, " (")
		name, op, ok := strings.Cut(head, " ")
		if !ok || name == "" || op == "" || strings.Contains(op, " ") {
			return nil, fmt.Errorf("parsing scope requirement %q: want \"ScopeName Operator [(values)]\"", req)
		}
		e := corev1.ScopedResourceSelectorRequirement{
			ScopeName: corev1.ResourceQuotaScope(name),
			Operator:  corev1.ScopeSelectorOperator(op),
		}
		if hasVals {
			inner, ok := strings.CutSuffix(vals, ")")
			if !ok || inner == "" {
				return nil, fmt.Errorf("parsing values of scope requirement %q: want (v1,v2)", req)
			}
			for _, v := range strings.Split(inner, ",") {
				u, err := url.QueryUnescape(v)
				if err != nil {
					return nil, fmt.Errorf("unescaping value %q of scope requirement %q: %w", v, req, err)
				}
				e.Values = append(e.Values, u)
			}
		}
		sel.MatchExpressions = append(sel.MatchExpressions, e)
	}
	return sel, nil
}

// ScopeID is a short stable identifier of a scope key, safe in object names
// and ConfigMap keys; "" for the unscoped key.
func ScopeID(key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

// SingletonName is the name of the ResourceQuota singleton that tracks usage
// under scopeKey in each namespace.
func SingletonName(scopeKey string) string {
	if scopeKey == "" {
		return UnscopedSingletonName
	}
	return scopedSingletonPrefix + ScopeID(scopeKey)
}
