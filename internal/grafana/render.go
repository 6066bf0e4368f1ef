package grafana

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strings"
)

// HashField is the top-level dashboard field holding the hash of the
// rendered template, so a reader can tell which rendering is stored.
const HashField = "canopyHash"

// renderParams fill a template's placeholders.
type renderParams struct {
	DashboardUID  string
	DatasourceUID string
	Namespaces    []string
	Tenant, Team  string
}

// renderTemplates renders every *.json template in templates for one team,
// keyed by template file name.
func renderTemplates(templates fs.FS, p func(name string) renderParams) (map[string]map[string]any, error) {
	names, err := fs.Glob(templates, "*.json")
	if err != nil {
		return nil, fmt.Errorf("listing dashboard templates: %w", err)
	}
	sort.Strings(names)
	out := make(map[string]map[string]any, len(names))
	for _, name := range names {
		raw, err := fs.ReadFile(templates, name)
		if err != nil {
			return nil, fmt.Errorf("reading dashboard template %q: %w", name, err)
		}
		m, err := render(raw, p(name))
		if err != nil {
			return nil, fmt.Errorf("rendering dashboard template %q: %w", name, err)
		}
		out[name] = m
	}
	return out, nil
}

// render substitutes the placeholders and adds the content hash. Values are
// JSON-escaped, so no name can break out of the string it lands in.
func render(template []byte, p renderParams) (map[string]any, error) {
	r := strings.NewReplacer(
		"__DASHBOARD_UID__", jsonEscape(p.DashboardUID),
		"__DATASOURCE_UID__", jsonEscape(p.DatasourceUID),
		"__NAMESPACE_REGEX__", jsonEscape(NamespaceRegex(p.Namespaces)),
		"__TENANT__", jsonEscape(p.Tenant),
		"__TEAM__", jsonEscape(p.Team),
	)
	var model map[string]any
	if err := json.Unmarshal([]byte(r.Replace(string(template))), &model); err != nil {
		return nil, fmt.Errorf("decoding rendered dashboard: %w", err)
	}
	delete(model, "id")
	delete(model, "version")
	delete(model, HashField)
	canonical, err := json.Marshal(model) // map keys are sorted, so this is canonical
	if err != nil {
		return nil, fmt.Errorf("encoding rendered dashboard: %w", err)
	}
	sum := sha256.Sum256(canonical)
	model[HashField] = hex.EncodeToString(sum[:16])
	return model, nil
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	return string(b[1 : len(b)-1])
}

// dashboardMatches reports whether the stored dashboard is the desired one.
// Only the fields Canopy sets are compared, so fields Grafana adds itself
// (id, version, and any it introduces later) never cause a rewrite, while
// any edit to a panel, query, title or the hash does.
func dashboardMatches(desired Dashboard, current Dashboard) bool {
	if desired.FolderUID != current.FolderUID {
		return false
	}
	for k, v := range desired.Model {
		if !reflect.DeepEqual(normalizeJSON(v), normalizeJSON(current.Model[k])) {
			return false
		}
	}
	return true
}

// normalizeJSON maps a value through encoding/json, so models built in Go
// and models decoded from a response compare equal when their JSON does.
func normalizeJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}
