package dashboards

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNames(t *testing.T) {
	got, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"team-cost.json", "team-quota.json", "team-workloads.json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
}

type target struct {
	Expr       string          `json:"expr"`
	Datasource json.RawMessage `json:"datasource"`
}

type panel struct {
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []target        `json:"targets"`
}

type model struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

// TestTemplates checks every template's contract with internal/grafana:
// valid JSON, the UID placeholder, and every query confined to the team and
// reading through the datasource placeholder.
func TestTemplates(t *testing.T) {
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	const wantDS = `{"type":"prometheus","uid":"__DATASOURCE_UID__"}`
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			raw, err := Read(name)
			if err != nil {
				t.Fatal(err)
			}
			var m model
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("invalid JSON: %v", err)
			}
			if m.UID != "__DASHBOARD_UID__" {
				t.Errorf("uid = %q, want the placeholder", m.UID)
			}
			if !strings.Contains(m.Title, "__TEAM__") {
				t.Errorf("title %q does not name the team", m.Title)
			}
			if len(m.Panels) < 3 {
				t.Errorf("got %d panels, want at least 3", len(m.Panels))
			}
			for _, p := range m.Panels {
				if got := compact(t, p.Datasource); got != wantDS {
					t.Errorf("panel %q datasource = %s, want %s", p.Title, got, wantDS)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				for _, tg := range p.Targets {
					if got := compact(t, tg.Datasource); got != wantDS {
						t.Errorf("panel %q target datasource = %s, want %s", p.Title, got, wantDS)
					}
					if !confined(tg.Expr) {
						t.Errorf("panel %q query is not confined to the team: %s", p.Title, tg.Expr)
					}
				}
			}
		})
	}
}

// confined reports whether every selector in expr is limited to the team:
// each metric Canopy does not label by namespace must carry the tenant label,
// and every other selector the namespace regex. Node cost metrics are
// cluster-wide prices, not tenant data, and are allowed bare.
func confined(expr string) bool {
	for _, m := range []string{"node_cpu_hourly_cost", "node_ram_hourly_cost", "node_total_hourly_cost"} {
		expr = strings.ReplaceAll(expr, m, "")
	}
	selectors := strings.Count(expr, "{")
	scoped := strings.Count(expr, `{namespace=~"__NAMESPACE_REGEX__"`) + strings.Count(expr, `{tenant="__TENANT__"`)
	return selectors > 0 && selectors == scoped
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("datasource %s: %v", raw, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
