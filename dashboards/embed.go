// Package dashboards holds the Grafana dashboard templates Canopy renders
// for every team, embedded so the manager ships them inside its binary.
//
// The package exists only because //go:embed cannot reach "..": the JSON
// files live at the top of the repository, where a Make target also copies
// them into the Helm chart. Each template is a complete Grafana dashboard
// model with placeholders that internal/grafana replaces before upload:
//
//	__DASHBOARD_UID__     the deterministic dashboard UID
//	__DATASOURCE_UID__    the tenant's Prometheus datasource UID
//	__NAMESPACE_REGEX__   the team's namespaces, as "a|b|c"
//	__TENANT__, __TEAM__  the tenant and team names
//
// Every query is confined to namespace=~"__NAMESPACE_REGEX__" (or to the
// tenant and team labels of Canopy's own metrics), and every panel and
// target names the datasource by its placeholder UID.
package dashboards

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed *.json
var files embed.FS

// FS returns the embedded templates; every file in it is a dashboard.
func FS() fs.FS { return files }

// Names lists the template file names in lexical order.
func Names() ([]string, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("listing embedded dashboards: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Read returns one template's raw JSON.
func Read(name string) ([]byte, error) {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return nil, fmt.Errorf("reading dashboard template %q: %w", name, err)
	}
	return b, nil
}
