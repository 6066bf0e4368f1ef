package cost

import (
	"slices"
	"strconv"
	"strings"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// HNC's tree label suffix: <ancestor>.tree.hnc.x-k8s.io/depth: "<n>".
const treeLabelSuffix = ".tree.hnc.x-k8s.io/depth"

// promPrefix is the prefix Prometheus's kube-state-metrics puts on label
// names, which OpenCost may keep.
const promPrefix = "label_"

// sanitize is OpenCost's (and Prometheus's) label-name sanitizing: every
// character outside [a-zA-Z0-9_] becomes '_'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

var (
	sanitizedTenantKey  = sanitize(tenancyv1alpha1.LabelTenant)
	sanitizedTreeSuffix = sanitize(treeLabelSuffix)
)

// ParseNamespaceLabels reads Canopy's tenant label and HNC's tree labels
// from OpenCost's namespaceLabels for namespace ns, which may be raw
// (tenancy.canopy.dev/tenant) or sanitized (tenancy_canopy_dev_tenant), with
// or without Prometheus's label_ prefix. Namespace names cannot hold '_',
// so a sanitized ancestor name is recovered by turning '_' back into '-'.
// path is the tree path, root first, ending with ns; ok is false when the
// tree labels are absent or inconsistent (depths not 0..n, or depth 0 not
// ns), in which case path is nil and tenant may still be set.
func ParseNamespaceLabels(ns string, labels map[string]string) (tenant string, path []string, ok bool) {
	if len(labels) == 0 {
		return "", nil, false
	}
	prefix := ""
	selfKey := sanitize(ns) + sanitizedTreeSuffix
	_, plainSelf := labels[selfKey]
	_, prefixedSelf := labels[promPrefix+selfKey]
	_, prefixedTenant := labels[promPrefix+sanitizedTenantKey]
	if prefixedSelf || (!plainSelf && prefixedTenant) {
		prefix = promPrefix
	}

	tenant = labels[tenancyv1alpha1.LabelTenant]
	if tenant == "" {
		tenant = labels[prefix+sanitizedTenantKey]
	}

	byDepth := map[int]string{}
	consistent := true
	add := func(name, depth string) {
		d, err := strconv.Atoi(depth)
		if err != nil || d < 0 {
			consistent = false
			return
		}
		if prev, dup := byDepth[d]; dup && prev != name {
			consistent = false
			return
		}
		byDepth[d] = name
	}
	for k, v := range labels {
		if anc, found := strings.CutSuffix(k, treeLabelSuffix); found {
			add(anc, v)
			continue
		}
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if anc, found := strings.CutSuffix(k[len(prefix):], sanitizedTreeSuffix); found && anc != "" {
			add(strings.ReplaceAll(anc, "_", "-"), v)
		}
	}
	if !consistent || len(byDepth) == 0 {
		return tenant, nil, false
	}
	path = make([]string, len(byDepth))
	for d, name := range byDepth {
		if d >= len(byDepth) {
			return tenant, nil, false
		}
		path[len(byDepth)-1-d] = name
	}
	if path[len(path)-1] != ns || slices.Contains(path, "") {
		return tenant, nil, false
	}
	return tenant, path, true
}
