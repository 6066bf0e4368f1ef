package grafanaapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-openapi-client-go/models"
)

// promStub answers Prometheus's query API with one fixed series per
// query and records what it was asked, so the test can check the double
// proxies like Grafana: the datasource URL, the form, the custom header.
type promStub struct {
	mu   sync.Mutex
	seen []string
}

func (p *promStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p.mu.Lock()
	p.seen = append(p.seen, fmt.Sprintf("%s %s auth=%q query=%q", r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Form.Get("query")))
	p.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer t0k3n" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"unauthorized","error":"bad token"}`))
		return
	}
	metric := `{"__name__":"up","namespace":"acme-web"}`
	switch r.URL.Path {
	case "/tenants/acme/api/v1/query_range":
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":%s,"values":[[1700000000,"1"],[1700000060,"NaN"]]}]}}`, metric)
	case "/tenants/acme/api/v1/query":
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":%s,"value":[1700000000,"2.5"]}]}}`, metric)
	default:
		http.NotFound(w, r)
	}
}

type frames struct {
	Results map[string]struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
		Frames []struct {
			Schema struct {
				RefID  string `json:"refId"`
				Fields []struct {
					Name   string            `json:"name"`
					Type   string            `json:"type"`
					Labels map[string]string `json:"labels"`
					Config map[string]any    `json:"config"`
				} `json:"fields"`
			} `json:"schema"`
			Data struct {
				Values [][]any `json:"values"`
			} `json:"data"`
		} `json:"frames"`
	} `json:"results"`
}

func TestDSQuery(t *testing.T) {
	admin, s := newClient(t)
	stub := &promStub{}
	prom := httptest.NewServer(stub)
	defer prom.Close()
	s.AddUsers("alice")
	admin.must("POST", "/api/datasources", models.AddDataSourceCommand{UID: "ds", Name: "P", Type: "prometheus",
		URL: prom.URL + "/tenants/acme", Access: "proxy",
		JSONData:       map[string]any{"httpMethod": "POST", "httpHeaderName1": "Authorization"},
		SecureJSONData: map[string]string{"httpHeaderValue1": "Bearer t0k3n"}}, nil)

	query := func(q map[string]any) (frames, int) {
		q["refId"], q["datasource"] = "A", map[string]any{"type": "prometheus", "uid": "ds"}
		var out frames
		c := admin.as("alice")
		code := c.do("POST", "/api/ds/query", map[string]any{"from": "now-1h", "to": "now", "queries": []any{q}}, nil)
		// Decode the frames separately: ds/query's answer is not a client type.
		if code == http.StatusOK || code == http.StatusBadRequest {
			err := doJSON(s.URL, "alice", "POST", "/api/ds/query", map[string]any{"from": "now-1h", "to": "now", "queries": []any{q}}, &out)
			if err != nil {
				t.Fatal(err)
			}
		}
		return out, code
	}

	rng, code := query(map[string]any{"expr": "up", "range": true, "intervalMs": 60000, "legendFormat": "{{namespace}}"})
	if code != http.StatusOK || len(rng.Results["A"].Frames) != 1 {
		t.Fatalf("range query: %d %+v", code, rng)
	}
	f := rng.Results["A"].Frames[0]
	if f.Schema.Fields[0].Type != "time" || f.Schema.Fields[1].Labels["namespace"] != "acme-web" ||
		f.Schema.Fields[1].Config["displayNameFromDS"] != "acme-web" {
		t.Errorf("range frame schema = %+v", f.Schema)
	}
	if got := fmt.Sprint(f.Data.Values); got != "[[1.7e+12 1.70000006e+12] [1 <nil>]]" {
		t.Errorf("range frame values = %s", got)
	}

	inst, _ := query(map[string]any{"expr": "up", "instant": true})
	if v := inst.Results["A"].Frames[0].Data.Values; len(v) != 2 || v[1][0] != 2.5 {
		t.Errorf("instant frame values = %v", v)
	}

	table, _ := query(map[string]any{"expr": "up", "instant": true, "format": "table"})
	tf := table.Results["A"].Frames[0]
	var names []string
	for _, fl := range tf.Schema.Fields {
		names = append(names, fl.Name)
	}
	if strings.Join(names, ",") != "Time,__name__,namespace,Value #A" || tf.Data.Values[2][0] != "acme-web" {
		t.Errorf("table frame = %v %v", names, tf.Data.Values)
	}

	stub.mu.Lock()
	seen := strings.Join(stub.seen, "\n")
	stub.mu.Unlock()
	for _, want := range []string{
		`POST /tenants/acme/api/v1/query_range auth="Bearer t0k3n" query="up"`,
		`POST /tenants/acme/api/v1/query auth="Bearer t0k3n" query="up"`,
	} {
		if !strings.Contains(seen, want) {
			t.Errorf("Prometheus was not asked %q; it saw:\n%s", want, seen)
		}
	}

	// A datasource whose token the upstream refuses: the query fails, 400.
	admin.must("PUT", "/api/datasources/uid/ds", models.UpdateDataSourceCommand{Name: "P", Type: "prometheus",
		URL: prom.URL + "/tenants/acme", Access: "proxy", JSONData: map[string]any{"httpMethod": "POST", "httpHeaderName1": "Authorization"},
		SecureJSONData: map[string]string{"httpHeaderValue1": "Bearer wrong"}}, nil)
	failed, code := query(map[string]any{"expr": "up", "range": true})
	if code != http.StatusBadRequest || !strings.Contains(failed.Results["A"].Error, "bad token") {
		t.Errorf("refused upstream: %d %+v, want 400 carrying the error", code, failed)
	}
	// Another organization's datasource is not found.
	if code := admin.as("alice").inOrg(1).do("POST", "/api/ds/query", map[string]any{"from": "now-1h", "to": "now",
		"queries": []any{map[string]any{"refId": "A", "datasource": map[string]any{"uid": "nope"}, "expr": "up"}}}, nil); code != http.StatusNotFound {
		t.Errorf("unknown datasource: %d, want 404", code)
	}
}

func doJSON(base, user, method, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, strings.NewReader(string(b)))
	req.SetBasicAuth(user, user+"-pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}
