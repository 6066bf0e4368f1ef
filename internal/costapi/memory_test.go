package costapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

// memoryBudget is what one chargeback may hold in the manager's memory.
const memoryBudget = 64 << 20

// streamingOpenCost answers /allocation with one step per day and one
// allocation per namespace per step, written as it goes, so the stand-in
// itself holds almost nothing.
func streamingOpenCost(namespaces []string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		win, err := period.ParseWindow(r.URL.Query().Get("window"), time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		bw := bufio.NewWriterSize(w, 64<<10)
		_, _ = io.WriteString(bw, `{"code":200,"data":[`)
		for i, s := range period.Steps(win, 24*time.Hour) {
			if i > 0 {
				_ = bw.WriteByte(',')
			}
			start, end := s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339)
			_ = bw.WriteByte('{')
			for j, ns := range append(namespaces, opencost.KeyIdle) {
				if j > 0 {
					_ = bw.WriteByte(',')
				}
				fmt.Fprintf(bw, `%q:{"name":%q,"properties":{"namespace":%q},"window":{"start":%q,"end":%q},"start":%q,"end":%q,"cpuCoreHours":2,"cpuCost":0.25,"ramCost":0.125,"ramByteHours":1073741824,"pvCost":0.01,"networkCost":0.002,"totalCost":0.387}`,
					ns, ns, ns, start, end, start, end)
			}
			_ = bw.WriteByte('}')
		}
		_, _ = io.WriteString(bw, `]}`)
		_ = bw.Flush()
	}))
}

// peakLive samples the live heap (after a collection) until stop is
// closed, and returns the highest sample above base.
func peakLive(base uint64, stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		for {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return out
}

// TestChargebackMemoryStaysUnderBudget computes the largest chargeback the
// API accepts (400 days) over a cluster of 1,000 namespaces in 20 tenants,
// as the handler does (roll-up, then the whole CSV encoded in memory), and
// measures the live heap it holds: under 64 MiB, and not growing with the
// number of days (OpenCost's answer is streamed step by step).
func TestChargebackMemoryStaysUnderBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 400 days of 1,000 namespaces")
	}
	const tenants, perTenant = 20, 50
	dir := cost.Directory{Tenants: map[string]cost.Tenant{}, Namespaces: map[string]cost.LiveNamespace{}}
	var namespaces []string
	for i := range tenants {
		tn := fmt.Sprintf("tenant-%02d", i)
		dir.Tenants[tn] = cost.Tenant{Name: tn, CostCenter: "CC-" + tn}
		dir.Namespaces[tn] = cost.LiveNamespace{Tenant: tn, Path: []string{tn}}
		namespaces = append(namespaces, tn)
		for j := 1; j < perTenant; j++ {
			ns := fmt.Sprintf("%s-team-%02d", tn, j)
			dir.Namespaces[ns] = cost.LiveNamespace{Tenant: tn, Path: []string{tn, ns}}
			namespaces = append(namespaces, ns)
		}
	}
	srv := streamingOpenCost(namespaces)
	defer srv.Close()
	oc, err := opencost.NewHTTPClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	measure := func(days int, tenant string, summary bool) (uint64, int) {
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		win := period.Window{Start: start, End: start.AddDate(0, 0, days)}
		if win.Duration() > MaxWindow {
			t.Fatalf("%d days is more than the API accepts", days)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		stop := make(chan struct{})
		peak := peakLive(ms.HeapAlloc, stop)
		var size atomic.Int64
		var once sync.Once
		func() {
			defer once.Do(func() { close(stop) })
			cb, err := Compute(context.Background(), oc, dir, cost.Options{Idle: cost.Separate, Shared: cost.Separate}, "USD",
				Query{Window: win, Tenant: tenant, Summary: summary})
			if err != nil {
				t.Fatal(err)
			}
			var buf countingBuffer
			if err := cb.Write(&buf, FormatCSV); err != nil {
				t.Fatal(err)
			}
			size.Store(int64(buf.n))
		}()
		return <-peak, int(size.Load())
	}
	for _, c := range []struct {
		name    string
		tenant  string
		summary bool
	}{{"finance, every tenant", "", false}, {"one tenant", "tenant-07", false}, {"summary", "", true}} {
		short, _ := measure(10, c.tenant, c.summary)
		long, csvBytes := measure(MaxWindowDays, c.tenant, c.summary)
		t.Logf("%s: peak live heap %.1f MiB over 10 days, %.1f MiB over %d days (CSV %d bytes)",
			c.name, float64(short)/(1<<20), float64(long)/(1<<20), MaxWindowDays, csvBytes)
		if long >= memoryBudget {
			t.Errorf("%s: a %d-day chargeback held %d bytes, over the %d-byte budget", c.name, MaxWindowDays, long, memoryBudget)
		}
		if long > 2*short+(4<<20) {
			t.Errorf("%s: memory grows with the window: %d bytes over 10 days, %d over %d", c.name, short, long, MaxWindowDays)
		}
	}
}

// countingBuffer keeps what is written, as the handler's buffer does.
type countingBuffer struct {
	b []byte
	n int
}

func (c *countingBuffer) Write(p []byte) (int, error) {
	c.b = append(c.b, p...)
	c.n += len(p)
	return len(p), nil
}
