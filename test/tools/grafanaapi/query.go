package grafanaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-openapi-client-go/models"
)

// queryPlan is a /api/ds/query request resolved under the lock: every
// query with its datasource's address and header, ready to send.
type queryPlan struct {
	from, to time.Time
	queries  []plannedQuery
}

type plannedQuery struct {
	refID   string
	err     string // set when the query cannot run; answered as its error
	url     string
	method  string
	header  [2]string
	expr    string
	legend  string
	rangeQ  bool
	instant bool
	table   bool
	step    time.Duration
}

// safeResolution is Prometheus's limit of points per series, which
// Grafana keeps under by widening the step.
const safeResolution = 11000

// planQuery decodes the request and resolves each query's datasource in
// the caller's organization. The caller holds s.mu. It answers a bad
// request itself and returns nil.
func (s *Server) planQuery(q *request) *queryPlan {
	var body models.MetricRequest
	if !q.decodeStrict(&body) {
		return nil
	}
	if body.From == nil || body.To == nil || len(body.Queries) == 0 {
		writeError(q.w, http.StatusBadRequest, "from, to and queries are required")
		return nil
	}
	now := time.Now()
	from, err1 := parseGrafanaTime(*body.From, now)
	to, err2 := parseGrafanaTime(*body.To, now)
	if err1 != nil || err2 != nil || !from.Before(to) {
		writeError(q.w, http.StatusBadRequest, fmt.Sprintf("invalid time range %q to %q", *body.From, *body.To))
		return nil
	}
	plan := &queryPlan{from: from, to: to}
	o := q.org(s)
	for i, raw := range body.Queries {
		m, ok := raw.(map[string]any)
		if !ok {
			writeError(q.w, http.StatusBadRequest, fmt.Sprintf("query %d is not an object", i))
			return nil
		}
		pq := plannedQuery{refID: str(m["refId"]), expr: str(m["expr"]), legend: str(m["legendFormat"])}
		if pq.refID == "" {
			pq.refID = "A"
		}
		dsRef, _ := m["datasource"].(map[string]any)
		ds := o.Datasources[str(dsRef["uid"])]
		if ds == nil {
			writeError(q.w, http.StatusNotFound, "Data source not found")
			return nil
		}
		if ds.Type != "prometheus" {
			pq.err = "the double queries only prometheus datasources, not " + ds.Type
			plan.queries = append(plan.queries, pq)
			continue
		}
		pq.url, pq.method = strings.TrimSuffix(ds.URL, "/"), http.MethodGet
		if str(ds.JSONData["httpMethod"]) == http.MethodPost {
			pq.method = http.MethodPost
		}
		if name := str(ds.JSONData["httpHeaderName1"]); name != "" {
			pq.header = [2]string{name, ds.SecureJSONData["httpHeaderValue1"]}
		}
		pq.instant, _ = m["instant"].(bool)
		pq.rangeQ, _ = m["range"].(bool)
		if !pq.instant && !pq.rangeQ {
			pq.rangeQ = true
		}
		pq.table = str(m["format"]) == "table"
		intervalMs, _ := m["intervalMs"].(float64)
		pq.step = time.Duration(intervalMs) * time.Millisecond
		if pq.step < time.Second {
			pq.step = 15 * time.Second
		}
		if safe := to.Sub(from) / safeResolution; pq.step < safe {
			pq.step = safe.Truncate(time.Second) + time.Second
		}
		plan.queries = append(plan.queries, pq)
	}
	return plan
}

func str(v any) string { s, _ := v.(string); return s }

var relativeTime = regexp.MustCompile(`^now(?:-(\d+)([smhdw]))?$`)

// parseGrafanaTime reads epoch milliseconds or now[-N(s|m|h|d|w)].
func parseGrafanaTime(s string, now time.Time) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	m := relativeTime.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("unsupported time %q", s)
	}
	if m[1] == "" {
		return now, nil
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
	return now.Add(-time.Duration(n) * unit), nil
}

// runQuery sends each query to its datasource and answers in Grafana's
// data-frame JSON. Like Grafana, a failed query makes the answer 400.
func (s *Server) runQuery(q *request, plan *queryPlan) {
	results := map[string]any{}
	status := http.StatusOK
	for _, pq := range plan.queries {
		var frames []frame
		err := pq.err
		if err == "" {
			frames, err = s.runOne(q.r.Context(), plan, pq)
		}
		if err != "" {
			status = http.StatusBadRequest
			results[pq.refID] = map[string]any{"error": err, "status": http.StatusBadRequest, "frames": []frame{}}
			continue
		}
		results[pq.refID] = map[string]any{"status": http.StatusOK, "frames": frames}
	}
	writeJSON(q.w, status, map[string]any{"results": results})
}

func (s *Server) runOne(ctx context.Context, plan *queryPlan, pq plannedQuery) ([]frame, string) {
	var frames []frame
	if pq.rangeQ {
		start := plan.from.Truncate(pq.step)
		end := plan.to.Truncate(pq.step)
		res, err := s.prometheus(ctx, pq, "/api/v1/query_range", url.Values{"query": {pq.expr},
			"start": {promTime(start)}, "end": {promTime(end)}, "step": {strconv.FormatFloat(pq.step.Seconds(), 'f', -1, 64)}})
		if err != "" {
			return nil, err
		}
		frames = append(frames, toFrames(pq, res)...)
	}
	if pq.instant {
		res, err := s.prometheus(ctx, pq, "/api/v1/query", url.Values{"query": {pq.expr}, "time": {promTime(plan.to)}})
		if err != "" {
			return nil, err
		}
		frames = append(frames, toFrames(pq, res)...)
	}
	return frames, ""
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// promResult is the data of a Prometheus query API answer.
type promResult struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
	series     []promSeries
}

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
	Value  [2]any            `json:"value"`
}

// prometheus calls the datasource as Grafana's proxy access does: the
// datasource URL plus the API path, with its custom header.
func (s *Server) prometheus(ctx context.Context, pq plannedQuery, path string, form url.Values) (*promResult, string) {
	var req *http.Request
	var err error
	if pq.method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, pq.url+path, strings.NewReader(form.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, pq.url+path+"?"+form.Encode(), nil)
	}
	if err != nil {
		return nil, err.Error()
	}
	if pq.header[0] != "" {
		req.Header.Set(pq.header[0], pq.header[1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err.Error()
	}
	var answer struct {
		Status string     `json:"status"`
		Error  string     `json:"error"`
		Data   promResult `json:"data"`
	}
	if err := json.Unmarshal(b, &answer); err != nil || resp.StatusCode/100 != 2 || answer.Status != "success" {
		msg := answer.Error
		if msg == "" {
			msg = strings.TrimSpace(string(b))
		}
		return nil, fmt.Sprintf("%s: %d %s", path, resp.StatusCode, msg)
	}
	res := &answer.Data
	switch res.ResultType {
	case "matrix", "vector":
		if err := json.Unmarshal(res.Result, &res.series); err != nil {
			return nil, "decoding the " + res.ResultType + ": " + err.Error()
		}
	case "scalar", "string":
		var v [2]any
		if err := json.Unmarshal(res.Result, &v); err != nil {
			return nil, "decoding the " + res.ResultType + ": " + err.Error()
		}
		res.series = []promSeries{{Metric: map[string]string{}, Value: v}}
	default:
		return nil, "unknown result type " + res.ResultType
	}
	return res, ""
}

// frame is Grafana's data-frame JSON.
type frame struct {
	Schema frameSchema `json:"schema"`
	Data   frameData   `json:"data"`
}

type frameSchema struct {
	Name   string         `json:"name,omitempty"`
	RefID  string         `json:"refId"`
	Meta   map[string]any `json:"meta"`
	Fields []field        `json:"fields"`
}

type field struct {
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	TypeInfo map[string]any    `json:"typeInfo"`
	Labels   map[string]string `json:"labels,omitempty"`
	Config   map[string]any    `json:"config,omitempty"`
}

type frameData struct {
	Values [][]any `json:"values"`
}

// samples flattens a series to times (epoch ms) and values (nil for NaN
// and infinities, which JSON cannot carry).
func samples(s promSeries) ([]any, []any) {
	pairs := s.Values
	if pairs == nil {
		pairs = [][2]any{s.Value}
	}
	times, vals := make([]any, 0, len(pairs)), make([]any, 0, len(pairs))
	for _, p := range pairs {
		ts, _ := p[0].(float64)
		times = append(times, int64(math.Round(ts*1000)))
		v, err := strconv.ParseFloat(str(p[1]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			vals = append(vals, nil)
			continue
		}
		vals = append(vals, v)
	}
	return times, vals
}

var legendLabel = regexp.MustCompile(`\{\{\s*(.+?)\s*\}\}`)

func legend(format string, labels map[string]string) string {
	return legendLabel.ReplaceAllStringFunc(format, func(m string) string {
		return labels[strings.TrimSpace(legendLabel.FindStringSubmatch(m)[1])]
	})
}

var timeField = field{Name: "Time", Type: "time", TypeInfo: map[string]any{"frame": "time.Time"}}

func toFrames(pq plannedQuery, res *promResult) []frame {
	meta := map[string]any{"type": "timeseries-multi", "typeVersion": []int{0, 1},
		"custom": map[string]any{"resultType": res.ResultType}, "executedQueryString": "Expr: " + pq.expr + "\nStep: " + pq.step.String()}
	if pq.table {
		return []frame{tableFrame(pq, res, meta)}
	}
	out := []frame{}
	for _, s := range res.series {
		times, vals := samples(s)
		value := field{Name: "Value", Type: "number", TypeInfo: map[string]any{"frame": "float64", "nullable": true}, Labels: s.Metric}
		if pq.legend != "" {
			value.Config = map[string]any{"displayNameFromDS": legend(pq.legend, s.Metric)}
		}
		tf := timeField
		tf.Config = map[string]any{"interval": pq.step.Milliseconds()}
		out = append(out, frame{Schema: frameSchema{RefID: pq.refID, Meta: meta, Fields: []field{tf, value}},
			Data: frameData{Values: [][]any{times, vals}}})
	}
	return out
}

// tableFrame is format "table": one frame, a column per label and one
// "Value #<refId>" column, a row per sample.
func tableFrame(pq plannedQuery, res *promResult, meta map[string]any) frame {
	names := map[string]bool{}
	for _, s := range res.series {
		for k := range s.Metric {
			names[k] = true
		}
	}
	labels := sortedKeys(names)
	sort.Strings(labels)
	fields := []field{timeField}
	for _, l := range labels {
		fields = append(fields, field{Name: l, Type: "string", TypeInfo: map[string]any{"frame": "string"}})
	}
	fields = append(fields, field{Name: "Value #" + pq.refID, Type: "number", TypeInfo: map[string]any{"frame": "float64", "nullable": true}})
	cols := make([][]any, len(fields))
	for i := range cols {
		cols[i] = []any{}
	}
	for _, s := range res.series {
		times, vals := samples(s)
		for i := range times {
			cols[0] = append(cols[0], times[i])
			for j, l := range labels {
				cols[j+1] = append(cols[j+1], s.Metric[l])
			}
			cols[len(cols)-1] = append(cols[len(cols)-1], vals[i])
		}
	}
	tableMeta := map[string]any{}
	for k, v := range meta {
		tableMeta[k] = v
	}
	tableMeta["type"] = "table"
	return frame{Schema: frameSchema{RefID: pq.refID, Meta: tableMeta, Fields: fields}, Data: frameData{Values: cols}}
}
