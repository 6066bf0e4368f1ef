package cost

import (
	"bytes"
	"encoding/csv"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// parseCents reads a CSV amount with two decimals into cents.
func parseCents(t *testing.T, s string) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("amount %q does not parse", s)
	}
	if i := strings.IndexByte(s, '.'); i < 0 || len(s)-i-1 != 2 {
		t.Fatalf("amount %q does not have two decimals", s)
	}
	c := new(big.Rat).Mul(r, big.NewRat(100, 1))
	if !c.IsInt() {
		t.Fatalf("amount %q is not whole cents", s)
	}
	return c.Num().Int64()
}

// FuzzNamespaceCSV writes reports whose text fields hold anything (commas,
// quotes, newlines, non-UTF-8) and whose amounts are any sign, and checks
// that the CSV parses back to one record per row plus the header, every
// record as wide as the header, every text field as written, and every
// money column in cents adding up to the column's exact total rounded half
// away from zero: the rows still add up after rounding.
func FuzzNamespaceCSV(f *testing.F) {
	f.Add("payments", "CC-1", "team", "payments-api", int64(1_250_000), int64(505_000), int64(-3), uint8(3))
	f.Add("a,b", "=SUM(A1)", "\"quoted\"", "ns\nwith newline", int64(4_999), int64(5_000), int64(-5_000), uint8(7))
	f.Add("", "", "", "", int64(0), int64(0), int64(0), uint8(0))
	f.Add("t", "cc\r\nx", " lead", "\xff", int64(999_999_999_999), int64(-999_999_999_999), int64(1), uint8(5))
	f.Fuzz(func(t *testing.T, tenant, costCenter, team, ns string, a, b, c int64, n uint8) {
		const bound = int64(1e15) // micro-units: a billion currency units
		clamp := func(v int64) Micro { return Micro(((v%bound)+bound)%(2*bound) - bound) }
		rows := int(n%8) + 1
		start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		rep := &Report{Window: period.Window{Start: start, End: start.AddDate(0, 0, 1)}}
		exact := make([]int64, len(moneyColumns))
		for i := range rows {
			costs := Costs{CPU: clamp(a * int64(i+1)), RAM: clamp(b - int64(i)), GPU: clamp(c ^ int64(i)), External: clamp(a + b)}
			costs.Total = costs.CPU + costs.RAM + costs.GPU + costs.External
			for j, col := range moneyColumns {
				exact[j] += int64(col.get(&costs))
			}
			rep.Rows = append(rep.Rows, Row{Line: LineTenant, Namespace: ns, Costs: costs,
				Attribution: &Attribution{Tenant: tenant, CostCenter: costCenter, Path: tenant + "/" + ns,
					Teams: []TeamRef{{Name: team, Path: tenant}}}})
		}
		var buf bytes.Buffer
		w := NewNamespaceCSV(&buf, CSVOptions{Currency: "USD", Precision: PrecisionCents})
		if err := w.WriteReport(rep); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not parse: %v\n%s", err, buf.Bytes())
		}
		if len(records) != rows+1 {
			t.Fatalf("%d records, want %d", len(records), rows+1)
		}
		col := map[string]int{}
		for i, h := range records[0] {
			col[h] = i
		}
		// encoding/csv reads \r\n inside a quoted field as \n.
		norm := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
		sums := make([]int64, len(moneyColumns))
		for _, rec := range records[1:] {
			if len(rec) != len(NamespaceHeader) {
				t.Fatalf("record of %d fields, want %d: %q", len(rec), len(NamespaceHeader), rec)
			}
			for name, want := range map[string]string{"tenant": tenant, "cost_center": costCenter, "team": team, "namespace": ns, "currency": "USD"} {
				if got := rec[col[name]]; got != norm(want) {
					t.Fatalf("column %s = %q, want %q", name, got, norm(want))
				}
			}
			for j, mc := range moneyColumns {
				sums[j] += parseCents(t, rec[col[mc.name]])
			}
		}
		for j, mc := range moneyColumns {
			if want := int64(RoundCent(Micro(exact[j]))); sums[j] != want {
				t.Fatalf("column %s sums to %d cents, want the exact total %d micro rounded: %d", mc.name, sums[j], exact[j], want)
			}
		}
	})
}
