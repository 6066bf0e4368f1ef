package dashboards

import (
	"encoding/json"
	"strings"
	"testing"
)

// The operations dashboard reads every panel from its datasource variable,
// a Prometheus picker, and confines controller-runtime's shared metric
// names to Canopy's job.
func TestOperations(t *testing.T) {
	raw, err := OperationsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		model
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if m.UID != OperationsUID || m.SchemaVersion != SchemaVersion || m.Editable {
		t.Errorf("uid %q, schemaVersion %d, editable %v", m.UID, m.SchemaVersion, m.Editable)
	}
	if l := m.Templating.List; len(l) != 2 || l[0].Name != "datasource" || l[0].Type != "datasource" || l[0].Query != "prometheus" ||
		l[1].Name != "cluster" || l[1].Type != "query" || l[1].Query != "label_values(controller_runtime_reconcile_total, cluster)" {
		t.Errorf("variables %+v, want a Prometheus datasource variable named datasource, then the cluster variable", l)
	}
	ds := dsRef{Type: "prometheus", UID: "${datasource}"}
	var exprs []string
	for _, p := range m.Panels {
		if p.Datasource != ds {
			t.Errorf("panel %q reads %+v, want %+v", p.Title, p.Datasource, ds)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource != ds || !tg.Range {
				t.Errorf("panel %q query %s: datasource %+v, range %v", p.Title, tg.RefID, tg.Datasource, tg.Range)
			}
			exprs = append(exprs, tg.Expr)
			if strings.Count(tg.Expr, `cluster=~"$cluster"`) != strings.Count(tg.Expr, "{") {
				t.Errorf("panel %q query %s: a selector without the cluster variable: %s", p.Title, tg.RefID, tg.Expr)
			}
			for _, shared := range []string{"controller_runtime_", "workqueue_"} {
				if strings.Contains(tg.Expr, shared) && !strings.Contains(tg.Expr, `job="canopy-metrics"`) {
					t.Errorf("panel %q reads %s* without job=\"canopy-metrics\": %s", p.Title, shared, tg.Expr)
				}
			}
		}
	}
	all := strings.Join(exprs, "\n")
	for _, metric := range []string{"leader_election_master_status", "controller_runtime_webhook_requests_total",
		"controller_runtime_webhook_latency_seconds_bucket", "controller_runtime_reconcile_errors_total",
		"canopy_conflicts_total", "canopy_opencost_fetch_errors_total", "canopy_webhook_errors_total", "canopy_quota_escrow_total"} {
		if !strings.Contains(all, metric) {
			t.Errorf("no panel reads %s", metric)
		}
	}
}
