package grafana

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/canopyhq/canopy/dashboards"
)

// HashField is the top-level dashboard field holding the hash of the
// rendered dashboard, so a reader can tell which rendering is stored.
const HashField = "canopyHash"

// TeamDashboards builds every dashboard of one team of st, keyed by
// dashboard name (see dashboards.Names), each a Grafana dashboard model
// ready to upload: its UID, the tenant's datasource, the team's
// namespaces, and the hash of the whole in HashField.
func TeamDashboards(st TenantState, team TeamState) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, name := range dashboards.Names() {
		raw, err := dashboards.JSON(name, dashboards.Params{
			UID:            DashboardUID(st.Tenant, team.Name, name),
			DatasourceUID:  DatasourceUID(st.Tenant),
			NamespaceRegex: NamespaceRegex(team.Namespaces),
			Tenant:         st.Tenant,
			Team:           team.Name,
		})
		if err != nil {
			return nil, err
		}
		m, err := withHash(raw)
		if err != nil {
			return nil, fmt.Errorf("dashboard %q: %w", name, err)
		}
		out[name] = m
	}
	return out, nil
}

// withHash decodes a dashboard and adds the content hash.
func withHash(raw []byte) (map[string]any, error) {
	var model map[string]any
	if err := json.Unmarshal(raw, &model); err != nil {
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
