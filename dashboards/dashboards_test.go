package dashboards

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var web = Params{UID: "uid-web", DatasourceUID: "ds-acme", NamespaceRegex: "acme-api|acme-web", Tenant: "acme", Team: "web"}

type model struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Editable      bool    `json:"editable"`
	Panels        []panel `json:"panels"`
}

type panel struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Datasource  dsRef  `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []target `json:"targets"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string `json:"refId"`
	Datasource dsRef  `json:"datasource"`
	Expr       string `json:"expr"`
	Range      bool   `json:"range"`
	Instant    bool   `json:"instant"`
	Format     string `json:"format"`
}

// want is one panel as a team sees it: type, title, unit, and each
// query (refId: PromQL); table marks an instant query in table format.
type want struct {
	typ, title, unit string
	queries          []string
	table            bool
}

const (
	ns       = `namespace=~"acme-api|acme-web", cluster=~"$cluster"`
	cpuUsed  = `rate(container_cpu_usage_seconds_total{` + ns + `, container!=""}[5m])`
	memUsed  = `container_memory_working_set_bytes{` + ns + `, container!=""}`
	reqCPU   = `kube_pod_container_resource_requests{` + ns + `, resource="cpu"}`
	reqMem   = `kube_pod_container_resource_requests{` + ns + `, resource="memory"}`
	cpuHour  = `container_cpu_allocation{` + ns + `} * on (cluster, node) group_left () avg by (cluster, node) (node_cpu_hourly_cost{cluster=~"$cluster"})`
	memHour  = `container_memory_allocation_bytes{` + ns + `} / 1073741824 * on (cluster, node) group_left () avg by (cluster, node) (node_ram_hourly_cost{cluster=~"$cluster"})`
	quotaBy  = `sum by (namespace, quota, resource) `
	quotaUse = quotaBy + `(canopy_quota_used{` + ns + `})`
)

var wantPanels = map[string][]want{
	"team-workloads": {
		{"timeseries", "CPU usage against requests", "suffix: cores",
			[]string{"A: sum by (namespace) (" + cpuUsed + ")", "B: sum by (namespace) (" + reqCPU + ")"}, false},
		{"timeseries", "Memory usage against requests", "bytes",
			[]string{"A: sum by (namespace) (" + memUsed + ")", "B: sum by (namespace) (" + reqMem + ")"}, false},
		{"stat", "CPU usage share of requests", "percentunit", []string{"A: sum(" + cpuUsed + ") / sum(" + reqCPU + ")"}, false},
		{"stat", "Memory usage share of requests", "percentunit", []string{"A: sum(" + memUsed + ") / sum(" + reqMem + ")"}, false},
	},
	"team-quota": {
		{"bargauge", "Used against hard, by resource", "percentunit",
			[]string{"A: " + quotaUse + " / " + quotaBy + "(canopy_quota_hard{" + ns + "} > 0)"}, false},
		{"timeseries", "Used over time", "short", []string{"A: " + quotaUse}, false},
		{"timeseries", "Hard limits over time", "short", []string{"A: " + quotaBy + "(canopy_quota_hard{" + ns + "})"}, false},
	},
	"team-cost": {
		{"timeseries", "Daily cost by namespace", "currencyUSD", []string{
			"A: sum by (namespace) (avg_over_time((" + cpuHour + ")[1d:1h]) * 24) + sum by (namespace) (avg_over_time((" + memHour + ")[1d:1h]) * 24)"}, false},
		{"timeseries", "Daily cost by resource", "currencyUSD", []string{
			"A: sum(avg_over_time((" + cpuHour + ")[1d:1h]) * 24)", "B: sum(avg_over_time((" + memHour + ")[1d:1h]) * 24)"}, false},
		{"bargauge", "Month to date by resource", "currencyUSD",
			[]string{`A: sum by (resource) (canopy_tenant_cost{tenant="acme", team="web", cluster=~"$cluster"})`}, false},
		{"gauge", "Month to date against budget", "percentunit", []string{`A: max(canopy_tenant_budget_ratio{tenant="acme", cluster=~"$cluster"})`}, false},
		{"stat", "Idle share of allocated CPU", "percentunit",
			[]string{"A: clamp_min(1 - sum(" + cpuUsed + ") / sum(container_cpu_allocation{" + ns + "}), 0)"}, false},
		{"table", "Top workloads by hourly cost", "currencyUSD",
			[]string{"A: topk(10, sum by (namespace, pod) (" + cpuHour + ") + sum by (namespace, pod) (" + memHour + "))"}, true},
	},
}

func build(t *testing.T, name string, p Params) model {
	t.Helper()
	raw, err := JSON(name, p)
	if err != nil {
		t.Fatal(err)
	}
	var m model
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s is not JSON: %v", name, err)
	}
	return m
}

func TestNames(t *testing.T) {
	if diff := cmp.Diff([]string{"team-cost", "team-quota", "team-workloads"}, Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
	if _, err := Build("team-nope", web); err == nil {
		t.Error("Build accepted an unknown dashboard")
	}
}

// TestPanels asserts every panel's query, unit and datasource: each query
// reads the tenant's datasource, and is a range query except the table's.
func TestPanels(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			m := build(t, name, web)
			if m.UID != "uid-web" || !strings.HasSuffix(m.Title, "(web)") || m.SchemaVersion != 38 || m.Editable {
				t.Errorf("uid %q, title %q, schemaVersion %d, editable %v", m.UID, m.Title, m.SchemaVersion, m.Editable)
			}
			var got []want
			tenantDS := dsRef{Type: "prometheus", UID: "ds-acme"}
			for _, p := range m.Panels {
				w := want{typ: p.Type, title: p.Title, unit: p.FieldConfig.Defaults.Unit}
				if p.Datasource != tenantDS {
					t.Errorf("panel %q reads datasource %+v, want the tenant's %+v", p.Title, p.Datasource, tenantDS)
				}
				for _, tg := range p.Targets {
					if tg.Datasource != tenantDS {
						t.Errorf("panel %q query %s reads datasource %+v, want the tenant's", p.Title, tg.RefID, tg.Datasource)
					}
					table := tg.Format == "table" && tg.Instant && !tg.Range
					if !table && (!tg.Range || tg.Instant || tg.Format != "") {
						t.Errorf("panel %q query %s: range %v instant %v format %q, want a range query", p.Title, tg.RefID, tg.Range, tg.Instant, tg.Format)
					}
					w.table = w.table || table
					w.queries = append(w.queries, tg.RefID+": "+tg.Expr)
				}
				got = append(got, w)
			}
			if diff := cmp.Diff(wantPanels[name], got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("panels (-want +got):\n%s", diff)
			}
		})
	}
}

// TestQuoting: values land in PromQL string literals quoted, so no name
// can end the literal and widen the selector.
func TestQuoting(t *testing.T) {
	p := web
	p.NamespaceRegex = `a"} or up{x="`
	m := build(t, "team-quota", p)
	if got := m.Panels[1].Targets[0].Expr; !strings.Contains(got, `namespace=~"a\"} or up{x=\""`) {
		t.Errorf("regex not quoted: %s", got)
	}
}

// TestPlaceholders: the chart's copies carry the placeholders where a
// provisioner puts each team's values.
func TestPlaceholders(t *testing.T) {
	for _, name := range Names() {
		raw, err := JSON(name, Placeholders())
		if err != nil {
			t.Fatal(err)
		}
		for _, ph := range []string{"__DASHBOARD_UID__", "__DATASOURCE_UID__", "__NAMESPACE_REGEX__", "__TEAM__"} {
			if !strings.Contains(string(raw), ph) {
				t.Errorf("%s has no %s", name, ph)
			}
		}
	}
}

// TestClusterVariable: every team dashboard has the cluster variable,
// read through the tenant's datasource, whose All (.*) also matches series
// without a cluster label, and every selector uses it.
func TestClusterVariable(t *testing.T) {
	for _, name := range Names() {
		raw, err := JSON(name, web)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Templating struct {
				List []struct {
					Name, Type, Query, AllValue string
					Multi, IncludeAll           bool
					Datasource                  dsRef
				} `json:"list"`
			} `json:"templating"`
			Panels []panel `json:"panels"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		l := m.Templating.List
		if len(l) != 1 || l[0].Name != "cluster" || l[0].Type != "query" || l[0].AllValue != ".*" || !l[0].Multi || !l[0].IncludeAll ||
			l[0].Datasource != (dsRef{Type: "prometheus", UID: "ds-acme"}) || l[0].Query != "label_values(kube_pod_container_resource_requests, cluster)" {
			t.Errorf("%s: variables %+v, want the cluster variable on the tenant's datasource", name, l)
		}
		for _, p := range m.Panels {
			for _, tg := range p.Targets {
				if strings.Count(tg.Expr, `cluster=~"$cluster"`) != strings.Count(tg.Expr, "{") {
					t.Errorf("%s: panel %q query %s has a selector without the cluster variable: %s", name, p.Title, tg.RefID, tg.Expr)
				}
			}
		}
	}
}
