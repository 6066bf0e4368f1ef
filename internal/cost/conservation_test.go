package cost

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/canopyhq/canopy/internal/cost/opencost"
)

// randomCase builds a random directory and step. It returns, computed here
// independently of the roll-up, OpenCost's total and the unallocated total.
func randomCase(rng *rand.Rand) (Directory, []string, *opencost.Step, Micro, Micro) {
	dir := Directory{Tenants: map[string]Tenant{}, Namespaces: map[string]LiveNamespace{}}
	var allocs []opencost.Allocation
	var total, unalloc Micro
	// Five decimals, as OpenCost rounds; a few negative (credits, idle).
	amount := func() float64 { return float64(rng.Int64N(50_000_000)-2_000_000) / 1e5 }
	add := func(key string, labels map[string]string, unallocated bool) {
		a := alloc(key, amount(), labels)
		if rng.IntN(10) == 0 {
			a.TotalCost = math.NaN()
		}
		m, _, _ := FromFloat(a.TotalCost)
		total += m
		if unallocated {
			unalloc += m
		}
		allocs = append(allocs, a)
	}
	for ti := range rng.IntN(6) {
		tn := fmt.Sprintf("t%d", ti)
		ten := Tenant{Name: tn, CostCenter: "cc-" + tn}
		paths := [][]string{{tn}}
		for ni := range rng.IntN(8) {
			parent := paths[rng.IntN(len(paths))]
			ns := fmt.Sprintf("%s-n%d", tn, ni)
			p := append(append([]string(nil), parent...), ns)
			paths = append(paths, p)
			if rng.IntN(3) == 0 {
				ten.Teams = append(ten.Teams, Team{Name: "team-" + ns, Root: ns})
			}
		}
		dir.Tenants[tn] = ten
		for _, p := range paths {
			ns := p[len(p)-1]
			if rng.IntN(4) == 0 { // deleted: labels only
				labels := map[string]string{"tenancy_canopy_dev_tenant": tn}
				for d, anc := range p {
					labels[strings.ReplaceAll(anc, "-", "_")+"_tree_hnc_x_k8s_io_depth"] = strconv.Itoa(len(p) - 1 - d)
				}
				add(ns, labels, false)
				continue
			}
			dir.Namespaces[ns] = LiveNamespace{Tenant: tn, Path: p}
			add(ns, nil, false)
		}
	}
	for i := range rng.IntN(4) {
		add(fmt.Sprintf("orphan-%d", i), nil, true)
	}
	var shared []string
	for i := range rng.IntN(3) {
		ns := fmt.Sprintf("shared-%d", i)
		shared = append(shared, ns)
		add(ns, nil, false)
	}
	if rng.IntN(4) != 0 {
		add(opencost.KeyIdle, nil, false)
	}
	if rng.IntN(2) == 0 {
		add(opencost.KeyUnallocated, nil, true)
	}
	rng.Shuffle(len(allocs), func(i, j int) { allocs[i], allocs[j] = allocs[j], allocs[i] })
	return dir, shared, &opencost.Step{Window: day1, Allocations: allocs}, total, unalloc
}

// TestConservationEveryPolicy checks, for random inputs and every policy
// combination, that the namespace-level rows sum exactly to OpenCost's
// total, that the unallocated line is what this test computes on its own,
// that team summaries partition the total, and that the CSV's cent-rounded
// totals add up to the total rounded to cents.
func TestConservationEveryPolicy(t *testing.T) {
	policies := []Policy{Separate, Weighted, Even}
	rng := rand.New(rand.NewPCG(7, 11))
	for iter := range 200 {
		dir, shared, step, wantTotal, wantUnalloc := randomCase(rng)
		for _, idle := range policies {
			for _, sh := range policies {
				name := fmt.Sprintf("case %d idle=%s shared=%s", iter, idle, sh)
				r, err := NewRoller(dir, Options{Idle: idle, Shared: sh, SharedNamespaces: shared})
				if err != nil {
					t.Fatal(err)
				}
				rep, err := r.Step(step)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var sum, unallocRow Micro
				for _, row := range rep.Rows {
					sum += row.Total
					if row.Line == LineUnallocated {
						unallocRow += row.Total
					}
				}
				if sum != wantTotal || rep.OpenCostTotal != wantTotal {
					t.Fatalf("%s: rows sum to %s, report total %s, want %s", name, sum, rep.OpenCostTotal, wantTotal)
				}
				if unallocRow != wantUnalloc {
					t.Fatalf("%s: unallocated line %s, want %s", name, unallocRow, wantUnalloc)
				}

				sum = 0
				s := NewTeamSummary(day1)
				s.Add(rep)
				for _, row := range s.Rows() {
					if row.IsPartition() {
						sum += row.Total
					}
				}
				if sum != wantTotal {
					t.Fatalf("%s: root teams and lines sum to %s, want %s", name, sum, wantTotal)
				}

				var buf bytes.Buffer
				w := NewNamespaceCSV(&buf, CSVOptions{Currency: "USD"})
				if err := w.WriteReport(rep); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				records, err := csv.NewReader(&buf).ReadAll()
				if err != nil {
					t.Fatalf("%s: reading the CSV back: %v", name, err)
				}
				var cents int64
				col := len(NamespaceHeader) - 4 // total_cost
				for _, rec := range records[1:] {
					v, err := strconv.ParseFloat(rec[col], 64)
					if err != nil {
						t.Fatal(err)
					}
					cents += int64(math.Round(v * 100))
				}
				if want := int64(RoundCent(wantTotal)); cents != want {
					t.Fatalf("%s: CSV totals sum to %d cents, want %d", name, cents, want)
				}
			}
		}
	}
}
