package cost

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// singleClusterCSVs renders the single-cluster chargeback CSVs of the test
// directory and step, in both forms and both precisions.
func singleClusterCSVs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, prec := range []struct {
		name string
		p    Precision
	}{{"cents", PrecisionCents}, {"micros", PrecisionMicros}} {
		rep := rollTestStep(t, Options{Idle: Weighted, Shared: Separate, SharedNamespaces: []string{"kube-system"}})
		opts := CSVOptions{Currency: "USD", Precision: prec.p}
		var ns bytes.Buffer
		w := NewNamespaceCSV(&ns, opts)
		if err := w.WriteReport(rep); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out["single-cluster-namespaces-"+prec.name+".csv"] = ns.Bytes()
		s := NewTeamSummary(day1)
		s.Add(rep)
		var tm bytes.Buffer
		tw := NewTeamCSV(&tm, opts)
		if err := tw.WriteSummary(s.Window, s.Rows()); err != nil {
			t.Fatal(err)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		out["single-cluster-teams-"+prec.name+".csv"] = tm.Bytes()
	}
	return out
}

// TestSingleClusterCSVByteIdentical pins the single-cluster CSVs, byte for
// byte, to the files rendered before fleet cost existed: a cluster that is
// not in a fleet gets exactly the chargeback it got before.
func TestSingleClusterCSVByteIdentical(t *testing.T) {
	for name, got := range singleClusterCSVs(t) {
		want, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed:\n got %q\nwant %q", name, got, want)
		}
	}
}
