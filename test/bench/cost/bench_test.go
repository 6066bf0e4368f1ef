package costbench

import (
	"bytes"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
)

var (
	largeOnce sync.Once
	largeBody []byte
)

func large() []byte {
	largeOnce.Do(func() { largeBody = Large.Response() })
	return largeBody
}

var benchOpts = cost.Options{Idle: cost.Weighted, Shared: cost.Even, SharedNamespaces: []string{"kube-system", "monitoring"}}

// pipeline decodes body and rolls it up into a team summary and a daily CSV
// written to out. It returns the time spent outside decoding.
func pipeline(tb testing.TB, s Shape, body []byte, out io.Writer, onStep func()) (*cost.TeamSummary, *cost.NamespaceTotals, time.Duration) {
	roller, err := cost.NewRoller(s.Directory(), benchOpts)
	if err != nil {
		tb.Fatal(err)
	}
	summary := cost.NewTeamSummary(s.Window())
	totals := cost.NewNamespaceTotals(s.Window())
	csv := cost.NewNamespaceCSV(out, cost.CSVOptions{Currency: "USD"})
	var rollup time.Duration
	_, err = opencost.Decode(bytes.NewReader(body), period.Steps(s.Window(), 24*time.Hour), func(st *opencost.Step) error {
		begin := time.Now()
		rep, err := roller.Step(st)
		if err != nil {
			return err
		}
		summary.Add(rep)
		totals.Add(rep)
		if err := csv.WriteReport(rep); err != nil {
			return err
		}
		rollup += time.Since(begin)
		if onStep != nil {
			onStep()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := csv.Close(); err != nil {
		tb.Fatal(err)
	}
	return summary, totals, rollup
}

// liveHeap collects garbage and returns the heap still in use. The input
// body is a pointer-free byte slice, so collecting is cheap; it runs in an
// untimed pass after every step.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func BenchmarkDecode(b *testing.B) {
	body := large()
	allocs := float64(Large.Days * (Large.Namespaces() + 2))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	base, peak := liveHeap(), uint64(0)
	if _, err := opencost.Decode(bytes.NewReader(body), nil, func(*opencost.Step) error {
		peak = max(peak, liveHeap())
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		_, err := opencost.Decode(bytes.NewReader(body), nil, func(*opencost.Step) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(allocs*float64(b.N)/b.Elapsed().Seconds(), "allocations/s")
	reportPeak(b, base, peak)
}

func BenchmarkDecodeRollupCSV(b *testing.B) {
	body := large()
	allocs := float64(Large.Days * (Large.Namespaces() + 2))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var rollup time.Duration
	base, peak := liveHeap(), uint64(0)
	pipeline(b, Large, body, io.Discard, func() { peak = max(peak, liveHeap()) })
	b.ResetTimer()
	for b.Loop() {
		_, _, r := pipeline(b, Large, body, io.Discard, nil)
		rollup += r
	}
	b.ReportMetric(allocs*float64(b.N)/b.Elapsed().Seconds(), "allocations/s")
	b.ReportMetric(float64(rollup)/float64(b.Elapsed()), "rollup-fraction")
	reportPeak(b, base, peak)
}

// reportPeak reports the peak live heap beyond the input body, sampled
// after every step of an untimed pass.
func reportPeak(b *testing.B, base, peak uint64) {
	if peak > base {
		b.ReportMetric(float64(peak-base)/(1<<20), "peak-live-MiB")
	} else {
		b.ReportMetric(0, "peak-live-MiB")
	}
}
