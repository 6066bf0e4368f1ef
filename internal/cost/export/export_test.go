package export

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canopyhq/canopy/internal/cost/period"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := WriteFile(dir, "a.csv", 0o640, write("one\n")); err != nil {
		t.Fatal(err)
	}
	// A second write of a closed period must not rewrite it.
	err := WriteFile(dir, "a.csv", 0o640, write("two\n"))
	if !errors.Is(err, ErrExists) {
		t.Errorf("second WriteFile error = %v, want ErrExists", err)
	}
	// A failed producer leaves nothing, not even a partial file.
	boom := errors.New("opencost went away")
	err = WriteFile(dir, "b.csv", 0o640, func(w io.Writer) error {
		_, _ = io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("failed WriteFile error = %v, want it to wrap the producer's", err)
	}
	if diff := cmp.Diff([]string{"a.csv"}, listDir(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(dir, "a.csv"))
	if err != nil || string(b) != "one\n" {
		t.Errorf("a.csv = %q, %v; want the first write", b, err)
	}
	st, err := os.Stat(filepath.Join(dir, "a.csv"))
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("a.csv mode = %v, %v; want 0640", st.Mode(), err)
	}
	for _, bad := range []string{"", "../x.csv", "sub/x.csv"} {
		if err := WriteFile(dir, bad, 0o640, write("x")); err == nil {
			t.Errorf("WriteFile(%q) succeeded", bad)
		}
	}
}

func TestWriteBuffered(t *testing.T) {
	var out bytes.Buffer
	err := WriteBuffered(&out, func(w io.Writer) error {
		_, _ = io.WriteString(w, "header\nrow\n")
		return errors.New("malformed")
	})
	if err == nil || out.Len() != 0 {
		t.Errorf("failed WriteBuffered wrote %q, error %v; want nothing and an error", out.String(), err)
	}
	if err := WriteBuffered(&out, func(w io.Writer) error { _, err := io.WriteString(w, "ok\n"); return err }); err != nil || out.String() != "ok\n" {
		t.Errorf("WriteBuffered wrote %q, %v", out.String(), err)
	}
}

func TestPlan(t *testing.T) {
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 10, 4, 7, 0, 0, 0, time.UTC)
	existing := map[string]bool{"cb-daily-2026-10-02.csv": true}
	jobs, err := Plan("cb", period.Daily, from, now, period.DefaultGrace, func(n string) (bool, error) { return existing[n], nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []Job{
		{Period: period.DayOf(from), File: "cb-daily-2026-10-01.csv"},
		{Period: period.DayOf(from.AddDate(0, 0, 2)), File: "cb-daily-2026-10-03.csv"},
	}
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("Plan (-want +got):\n%s", diff)
	}
	if _, err := Plan("cb", period.Daily, from, now, 0, func(string) (bool, error) { return false, errors.New("eio") }); err == nil {
		t.Error("Plan ignored an error from exists")
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		g    period.Granularity
		now  time.Time
		want time.Time
	}{
		{period.Daily, time.Date(2026, 10, 4, 5, 0, 0, 0, time.UTC), time.Date(2026, 10, 4, 6, 0, 0, 0, time.UTC)},
		{period.Daily, time.Date(2026, 10, 4, 6, 0, 0, 0, time.UTC), time.Date(2026, 10, 5, 6, 0, 0, 0, time.UTC)},
		{period.Monthly, time.Date(2026, 10, 4, 6, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := Next(tc.g, tc.now, period.DefaultGrace)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("Next(%s, %v) = %v, %v; want %v", tc.g, tc.now, got, err, tc.want)
		}
	}
}
