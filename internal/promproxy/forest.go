package promproxy

import (
	"sort"

	"github.com/canopyhq/canopy/internal/forest"
)

// ForestNamespaces reads a tenant's namespaces from the forest at each
// call: the tenant's root namespace (named like the tenant) and its
// existing descendants, sorted. It locks the forest only while it reads.
func ForestNamespaces(f *forest.Forest) func(tenant string) []string {
	return func(tenant string) []string {
		f.Lock()
		defer f.Unlock()
		root := f.Lookup(tenant)
		if !root.Exists() {
			return nil
		}
		out := []string{tenant}
		for _, d := range root.DescendantNames() {
			if f.Lookup(d).Exists() {
				out = append(out, d)
			}
		}
		sort.Strings(out)
		return out
	}
}
