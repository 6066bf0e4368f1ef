package opencost

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/canopyhq/canopy/internal/cost/period"
)

var testWindow = period.Window{
	Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
	End:   time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC),
}

const okBody = `{"code":200,"status":"success","data":[
 {"payments":{"name":"payments","properties":{"cluster":"c1","namespace":"payments",
   "namespaceLabels":{"tenancy_canopy_dev_tenant":"payments","payments_tree_hnc_x_k8s_io_depth":"0"},"labels":{"x":"y"}},
   "window":{"start":"2026-10-01T00:00:00Z","end":"2026-10-02T00:00:00Z"},
   "start":"2026-10-01T00:00:00Z","end":"2026-10-02T00:00:00Z","minutes":1440,
   "cpuCoreHours":24,"cpuCost":0.768,"cpuCostAdjustment":0,"cpuEfficiency":null,"gpuCost":0,"ramByteHours":25769803776,
   "ramCost":0.096,"pvCost":0.01,"networkCost":0,"loadBalancerCost":0.5,"sharedCost":0,"externalCost":0,
   "totalCost":1.374,"pvs":{"c1:pv-1":{"byteHours":1,"cost":0.01}},"lbAllocations":null,"rawAllocationOnly":null},
  "__idle__":{"name":"__idle__","properties":{"cluster":"c1"},
   "window":{"start":"2026-10-01T00:00:00Z","end":"2026-10-02T00:00:00Z"},
   "start":"2026-10-01T00:00:00Z","end":"2026-10-02T00:00:00Z","cpuCost":1.5,"ramCost":null,"totalCost":1.5}},
 {}
]}`

func TestAllocationsOK(t *testing.T) {
	var gotQuery map[string][]string
	var gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.Path, r.URL.Query()
		_, _ = w.Write([]byte(okBody))
	}))
	defer srv.Close()
	c, err := NewHTTPClient(srv.URL + "/base/")
	if err != nil {
		t.Fatal(err)
	}
	var steps []Step
	resp, err := c.Allocations(context.Background(), testWindow, func(s *Step) error {
		cp := *s
		cp.Allocations = append([]Allocation(nil), s.Allocations...)
		steps = append(steps, cp)
		return nil
	})
	if err != nil {
		t.Fatalf("Allocations: %v", err)
	}
	if gotPath != "/base/allocation" {
		t.Errorf("path = %q, want /base/allocation", gotPath)
	}
	wantQuery := map[string][]string{
		"window":      {"2026-10-01T00:00:00Z,2026-10-03T00:00:00Z"},
		"aggregate":   {"namespace"},
		"step":        {"1d"},
		"includeIdle": {"true"},
		"resolution":  {"1m"},
	}
	if diff := cmp.Diff(wantQuery, gotQuery); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Response{Code: 200, Status: "success", Steps: 2}, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	nan := math.NaN()
	day1 := period.Window{Start: testWindow.Start, End: testWindow.Start.AddDate(0, 0, 1)}
	want := []Step{
		{Index: 0, Window: day1, Allocations: []Allocation{
			{
				Key: "payments", Name: "payments", Cluster: "c1", Namespace: "payments",
				NamespaceLabels: map[string]string{"tenancy_canopy_dev_tenant": "payments", "payments_tree_hnc_x_k8s_io_depth": "0"},
				Start:           day1.Start, End: day1.End,
				CPUCoreHours: 24, RAMByteHours: 25769803776,
				CPUCost: 0.768, CPUCostAdjustment: 0, GPUCost: 0, GPUCostAdjustment: nan,
				RAMCost: 0.096, RAMCostAdjustment: nan, PVCost: 0.01, PVCostAdjustment: nan,
				NetworkCost: 0, NetworkCostAdjustment: nan, LoadBalancerCost: 0.5, LoadBalancerCostAdjustment: nan,
				SharedCost: 0, ExternalCost: 0, TotalCost: 1.374,
			},
			{
				Key: "__idle__", Name: "__idle__", Cluster: "c1", Start: day1.Start, End: day1.End,
				CPUCoreHours: nan, RAMByteHours: nan,
				CPUCost: 1.5, CPUCostAdjustment: nan, GPUCost: nan, GPUCostAdjustment: nan,
				RAMCost: nan, RAMCostAdjustment: nan, PVCost: nan, PVCostAdjustment: nan,
				NetworkCost: nan, NetworkCostAdjustment: nan, LoadBalancerCost: nan, LoadBalancerCostAdjustment: nan,
				SharedCost: nan, ExternalCost: nan, TotalCost: 1.5,
			},
		}},
		{Index: 1, Window: period.Window{Start: day1.End, End: testWindow.End}, Allocations: []Allocation{}},
	}
	if diff := cmp.Diff(want, steps, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if !steps[0].Allocations[1].IsIdle() || steps[0].Allocations[0].IsIdle() {
		t.Error("IsIdle misclassifies allocations")
	}
}

func TestAllocationsErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantReason string
		wantCode   int
		wantText   string
	}{
		{name: "4xx", status: http.StatusBadRequest, body: `{"code":400,"message":"bad window"}`,
			wantReason: ReasonBadStatus, wantCode: 400, wantText: "bad window"},
		{name: "5xx with trailing output", status: http.StatusInternalServerError,
			body:       "Error computing allocation for range: boom\n" + okBody + "\x00\xffgarbage",
			wantReason: ReasonBadStatus, wantCode: 500, wantText: "Error computing allocation for range: boom"},
		{name: "error code in 200 envelope", status: 200, body: `{"code":500,"status":"error","message":"query failed","data":null}`,
			wantReason: ReasonBadStatus, wantCode: 500, wantText: "envelope code 500"},
		{name: "not JSON", status: 200, body: `<html>proxy error</html>`, wantReason: ReasonMalformed, wantText: "envelope"},
		{name: "truncated", status: 200, body: okBody[:200], wantReason: ReasonMalformed, wantText: "data[0]"},
		{name: "trailing garbage after success", status: 200, body: okBody + `{"code":500}`, wantReason: ReasonMalformed, wantText: "after envelope"},
		{name: "no data", status: 200, body: `{"code":200,"status":"success"}`, wantReason: ReasonMalformed, wantText: `no "data"`},
		{name: "data null", status: 200, body: `{"code":200,"data":null}`, wantReason: ReasonMalformed, wantText: "data"},
		{name: "data is an object", status: 200, body: `{"code":200,"data":{"a":{}}}`, wantReason: ReasonMalformed, wantText: "data"},
		{name: "step is an array", status: 200, body: `{"code":200,"data":[[]]}`, wantReason: ReasonMalformed, wantText: "data[0]"},
		{name: "allocation is a number", status: 200, body: `{"code":200,"data":[{"a":1}]}`, wantReason: ReasonMalformed, wantText: `data[0]["a"]`},
		{name: "cost is a string", status: 200, body: `{"code":200,"data":[{"a":{"name":"a","totalCost":"1.5"}}]}`,
			wantReason: ReasonMalformed, wantText: "want a number or null"},
		{name: "cost is an object", status: 200, body: `{"code":200,"data":[{"a":{"name":"a","cpuCost":{},"totalCost":1}}]}`,
			wantReason: ReasonMalformed, wantText: "want a number or null"},
		{name: "labels not strings", status: 200, body: `{"code":200,"data":[{"a":{"name":"a","properties":{"namespaceLabels":{"x":1}},"totalCost":1}}]}`,
			wantReason: ReasonMalformed, wantText: `data[0]["a"]`},
		{name: "no name", status: 200, body: `{"code":200,"data":[{"a":{"totalCost":1}}]}`, wantReason: ReasonMalformed, wantText: `no "name"`},
		{name: "no totalCost", status: 200, body: `{"code":200,"data":[{"a":{"name":"a"}}]}`, wantReason: ReasonMalformed, wantText: `no "totalCost"`},
		{name: "duplicate key", status: 200, body: `{"code":200,"data":[{"a":{"name":"a","totalCost":1},"a":{"name":"a","totalCost":1}}]}`,
			wantReason: ReasonMalformed, wantText: "duplicate key"},
		{name: "windows differ within a step", status: 200, body: `{"code":200,"data":[{
			"a":{"name":"a","totalCost":1,"window":{"start":"2026-10-01T00:00:00Z","end":"2026-10-02T00:00:00Z"}},
			"b":{"name":"b","totalCost":1,"window":{"start":"2026-10-02T00:00:00Z","end":"2026-10-03T00:00:00Z"}}}]}`,
			wantReason: ReasonMalformed, wantText: "differs from the step's window"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := NewHTTPClient(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Allocations(context.Background(), testWindow, func(*Step) error { return nil })
			if err == nil {
				t.Fatal("Allocations succeeded, want an error")
			}
			if got := Reason(err); got != tc.wantReason {
				t.Errorf("Reason(%v) = %q, want %q", err, got, tc.wantReason)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			var bad *BadStatusError
			if tc.wantCode != 0 {
				if !errors.As(err, &bad) || bad.Code != tc.wantCode || !strings.HasPrefix(bad.URL, srv.URL+"/allocation?") {
					t.Errorf("error %#v, want a BadStatusError with code %d and the request URL", err, tc.wantCode)
				}
				if len(bad.Excerpt) > maxErrorExcerpt+3 {
					t.Errorf("excerpt is %d bytes, want at most %d", len(bad.Excerpt), maxErrorExcerpt+3)
				}
			}
		})
	}
}

func TestAllocationsNullsDecodeAsNaN(t *testing.T) {
	body := `{"code":200,"data":[{"a":{"name":"a","cpuCost":null,"ramCost":-0.5,"totalCost":null}}]}`
	var got []Allocation
	_, err := Decode(strings.NewReader(body), nil, func(s *Step) error {
		got = append(got, s.Allocations...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !math.IsNaN(got[0].CPUCost) || !math.IsNaN(got[0].TotalCost) || got[0].RAMCost != -0.5 || !math.IsNaN(got[0].GPUCost) {
		t.Errorf("decoded %+v, want cpuCost, totalCost and gpuCost NaN and ramCost -0.5", got)
	}
}

func TestAllocationsTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{name: "no headers", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}},
		{name: "stalls mid-body", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(okBody[:300]))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c, err := NewHTTPClient(srv.URL, WithTimeout(200*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			begin := time.Now()
			_, err = c.Allocations(context.Background(), testWindow, func(*Step) error { return nil })
			if Reason(err) != ReasonUnavailable || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v, want an UnavailableError wrapping DeadlineExceeded", err)
			}
			if d := time.Since(begin); d > 5*time.Second {
				t.Errorf("took %v, want about the 200ms timeout", d)
			}
		})
	}
}

func TestAllocationsUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := NewHTTPClient(url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Allocations(context.Background(), testWindow, func(*Step) error { return nil })
	if Reason(err) != ReasonUnavailable {
		t.Errorf("error = %v, want an UnavailableError", err)
	}
}

func TestAllocationsVisitError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(okBody))
	}))
	defer srv.Close()
	c, err := NewHTTPClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sentinel := errors.New("disk full")
	_, err = c.Allocations(context.Background(), testWindow, func(*Step) error { return sentinel })
	if !errors.Is(err, sentinel) || Reason(err) != ReasonFailed || !strings.Contains(err.Error(), "step 0") {
		t.Errorf("error = %v, want the visitor's error wrapped with its step and reason %q", err, ReasonFailed)
	}
}

func TestNewHTTPClientRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "opencost:9003", "ftp://x", "http://"} {
		if _, err := NewHTTPClient(u); err == nil {
			t.Errorf("NewHTTPClient(%q) succeeded", u)
		}
	}
	if _, err := (&HTTPClient{}).Allocations(context.Background(), period.Window{}, nil); err == nil {
		t.Error("Allocations with an empty window succeeded")
	}
}
