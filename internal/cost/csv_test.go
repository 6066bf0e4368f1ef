package cost

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/cost/opencost"
)

func rollTestStep(t *testing.T, opts Options) *Report {
	t.Helper()
	r, err := NewRoller(testDirectory(), opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := r.Step(testStep())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

const csvPeriod = "2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,"

func TestNamespaceCSV(t *testing.T) {
	rep := rollTestStep(t, Options{Idle: Weighted, Shared: Separate, SharedNamespaces: []string{"kube-system"}})
	var buf bytes.Buffer
	w := NewNamespaceCSV(&buf, CSVOptions{Currency: "USD"})
	if err := w.WriteReport(rep); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zeros := "0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
	want := strings.Join([]string{
		strings.Join(NamespaceHeader, ","),
		csvPeriod + "tenant,payments,CC-100,payments,payments,payments,payments,10.00," + zeros + "3.00,13.00,USD,0.000000,0.000000",
		csvPeriod + "tenant,payments,CC-100,api,payments/payments-api,payments-api,payments/payments-api,20.00," + zeros + "6.00,26.00,USD,0.000000,0.000000",
		csvPeriod + "tenant,payments,CC-100,api,payments/payments-api,payments-api-staging,payments/payments-api/payments-api-staging,5.00," + zeros + "1.50,6.50,USD,0.000000,0.000000",
		csvPeriod + "tenant,payments,CC-100,payments,payments,payments-old,payments/payments-old,5.00," + zeros + "1.50,6.50,USD,0.000000,0.000000",
		csvPeriod + "tenant,search,CC-200,search,search,search,search,60.00," + zeros + "18.00,78.00,USD,0.000000,0.000000",
		csvPeriod + "shared,,,,,kube-system,,10.00," + zeros + "0.00,10.00,USD,0.000000,0.000000",
		csvPeriod + "unallocated,,,,,__unallocated__,,5.00," + zeros + "0.00,5.00,USD,0.000000,0.000000",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestNamespaceCSVLargestRemainderCents(t *testing.T) {
	dir := Directory{Namespaces: map[string]LiveNamespace{
		"a": {Tenant: "a", Path: []string{"a"}}, "b": {Tenant: "b", Path: []string{"b"}}, "c": {Tenant: "c", Path: []string{"c"}},
	}}
	r, err := NewRoller(dir, Options{Idle: Even, Shared: Separate})
	if err != nil {
		t.Fatal(err)
	}
	// One cent of idle over three tenants: 0.003334, 0.003333, 0.003333.
	rep, err := r.Step(&opencost.Step{Window: day1, Allocations: []opencost.Allocation{
		alloc("a", 1, nil), alloc("b", 1, nil), alloc("c", 1, nil), alloc("__idle__", 0.01, nil),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := NewNamespaceCSV(&buf, CSVOptions{Currency: "EUR"})
	if err := w.WriteReport(rep); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zeros := "0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
	want := strings.Join([]string{
		strings.Join(NamespaceHeader, ","),
		csvPeriod + "tenant,a,,a,a,a,a,1.00," + zeros + "0.01,1.01,EUR,0.000000,0.000000",
		csvPeriod + "tenant,b,,b,b,b,b,1.00," + zeros + "0.00,1.00,EUR,0.000000,0.000000",
		csvPeriod + "tenant,c,,c,c,c,c,1.00," + zeros + "0.00,1.00,EUR,0.000000,0.000000",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestTeamCSV(t *testing.T) {
	rep := rollTestStep(t, Options{Idle: Weighted, Shared: Separate, SharedNamespaces: []string{"kube-system"}})
	s := NewTeamSummary(day1)
	s.Add(rep)
	var buf bytes.Buffer
	w := NewTeamCSV(&buf, CSVOptions{Currency: "USD", Precision: PrecisionMicros})
	if err := w.WriteSummary(s.Window, s.Rows()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	z := "0.000000,"
	zeros := strings.Repeat(z, 7)
	want := strings.Join([]string{
		strings.Join(TeamHeader, ","),
		// payments: 40 own + 12 idle; api: payments-api 20+6 and staging 5+1.5.
		csvPeriod + "tenant,payments,CC-100,payments,payments,,40.000000," + zeros + "12.000000,52.000000,USD,0.000000,0.000000",
		csvPeriod + "tenant,payments,CC-100,api,payments/payments-api,,25.000000," + zeros + "7.500000,32.500000,USD,0.000000,0.000000",
		csvPeriod + "tenant,search,CC-200,search,search,,60.000000," + zeros + "18.000000,78.000000,USD,0.000000,0.000000",
		csvPeriod + "shared,,,,,kube-system,10.000000," + zeros + z + "10.000000,USD,0.000000,0.000000",
		csvPeriod + "unallocated,,,,,__unallocated__,5.000000," + zeros + z + "5.000000,USD,0.000000,0.000000",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestEmptyCSVHasHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := NewTeamCSV(&buf, CSVOptions{}).Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), strings.Join(TeamHeader, ",")+"\n"; got != want {
		t.Errorf("empty CSV = %q, want %q", got, want)
	}
}
