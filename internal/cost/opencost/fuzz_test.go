package opencost

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// FuzzDecode feeds arbitrary bytes to the streaming decoder and checks it
// against encoding/json: it does not panic; a failure is a
// *MalformedError or *BadStatusError; a success means the input was one
// valid JSON document with code 200, and the steps and allocations visited
// are exactly those of the document's data, in order, each allocation keyed
// as in the document.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"code":200,"data":[{"a":{"name":"a","properties":{"namespace":"a"},"start":"2026-10-01T00:00:00Z","end":"2026-10-02T00:00:00Z","cpuCost":1.5,"totalCost":1.5}},{}]}`))
	f.Add([]byte(`{"code":200,"status":"success","warning":"w","data":[{"__idle__":{"name":"__idle__","totalCost":null}}]}`))
	f.Add([]byte(`{"code":500,"message":"boom"}`))
	f.Add([]byte(`{"code":200,"data":[{"a":{},"a":{}}]}`))
	f.Add([]byte(`{"code":200,"data":[{"a":{"cpuCost":"1"}}]} trailing`))
	f.Add([]byte(`{"data":[],"code":200}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		steps := period.Steps(period.Window{Start: start, End: start.AddDate(0, 0, 3)}, 24*time.Hour)
		var visited [][]string
		next := 0
		resp, err := Decode(bytes.NewReader(body), steps, func(s *Step) error {
			if s.Index != next {
				t.Fatalf("step %d visited when %d was next", s.Index, next)
			}
			next++
			var keys []string
			for _, a := range s.Allocations {
				keys = append(keys, a.Key)
			}
			visited = append(visited, keys)
			return nil
		})
		if err != nil {
			var m *MalformedError
			var b *BadStatusError
			if !errors.As(err, &m) && !errors.As(err, &b) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON: %q", body)
		}
		var doc struct {
			Code int                          `json:"code"`
			Data []map[string]json.RawMessage `json:"data"`
		}
		if jerr := json.Unmarshal(body, &doc); jerr != nil {
			t.Fatalf("accepted a document encoding/json rejects (%v): %q", jerr, body)
		}
		if doc.Code != 200 || resp.Code != 200 {
			t.Fatalf("accepted code %d (decoder says %d)", doc.Code, resp.Code)
		}
		if len(visited) != len(doc.Data) || resp.Steps != len(doc.Data) {
			t.Fatalf("visited %d steps (response says %d), the document has %d", len(visited), resp.Steps, len(doc.Data))
		}
		for i, keys := range visited {
			if len(keys) != len(doc.Data[i]) {
				t.Fatalf("step %d: %d allocations visited, the document has %d", i, len(keys), len(doc.Data[i]))
			}
			for _, k := range keys {
				if _, ok := doc.Data[i][k]; !ok {
					t.Fatalf("step %d: allocation %q is not in the document", i, k)
				}
			}
		}
	})
}
