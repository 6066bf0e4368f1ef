package period

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func utc(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func TestParseWindow(t *testing.T) {
	now := utc(2026, 3, 15, 10, 30, 45)
	tests := []struct {
		in      string
		now     time.Time
		want    Window
		wantErr string
	}{
		{in: "2026-10-01,2026-11-01", want: Window{utc(2026, 10, 1, 0, 0, 0), utc(2026, 11, 1, 0, 0, 0)}},
		{in: " 2026-10-01 , 2026-10-02 ", want: Window{utc(2026, 10, 1, 0, 0, 0), utc(2026, 10, 2, 0, 0, 0)}},
		{in: "2026-10-01T00:00:00Z,2026-10-02T12:00:00+02:00", want: Window{utc(2026, 10, 1, 0, 0, 0), utc(2026, 10, 2, 10, 0, 0)}},
		{in: "2026-10-01,2026-10-01T06:00:00Z", want: Window{utc(2026, 10, 1, 0, 0, 0), utc(2026, 10, 1, 6, 0, 0)}},
		{in: "lastmonth", want: Window{utc(2026, 2, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0)}},
		{in: "LastMonth", now: utc(2026, 1, 1, 0, 0, 1), want: Window{utc(2025, 12, 1, 0, 0, 0), utc(2026, 1, 1, 0, 0, 0)}},
		{in: "mtd", want: Window{utc(2026, 3, 1, 0, 0, 0), utc(2026, 3, 15, 10, 30, 45)}},
		{in: "mtd", now: time.Date(2026, 3, 15, 10, 30, 45, 999, time.FixedZone("x", 3600)), want: Window{utc(2026, 3, 1, 0, 0, 0), utc(2026, 3, 15, 9, 30, 45)}},
		{in: "yesterday", want: Window{utc(2026, 3, 14, 0, 0, 0), utc(2026, 3, 15, 0, 0, 0)}},
		{in: "yesterday", now: utc(2026, 3, 1, 0, 0, 0), want: Window{utc(2026, 2, 28, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0)}},
		{in: "today", want: Window{utc(2026, 3, 15, 0, 0, 0), utc(2026, 3, 15, 10, 30, 45)}},
		{in: "today", now: utc(2026, 3, 15, 0, 0, 0), wantErr: "is not after start"},
		{in: "mtd", now: utc(2026, 3, 1, 0, 0, 0), wantErr: "is not after start"},
		{in: "", wantErr: "accepted forms"},
		{in: "1d", wantErr: "accepted forms"},
		{in: "lastweek", wantErr: "accepted forms"},
		{in: "2026-10-01", wantErr: "accepted forms"},
		{in: "2026-10-01,tomorrow", wantErr: "end: \"tomorrow\" is neither"},
		{in: "2026-13-01,2026-11-01", wantErr: "start:"},
		{in: "2026-11-01,2026-10-01", wantErr: "is not after start"},
		{in: "2026-10-01,2026-10-01", wantErr: "is not after start"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			n := now
			if !tc.now.IsZero() {
				n = tc.now
			}
			got, err := ParseWindow(tc.in, n)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidWindow) {
					t.Fatalf("ParseWindow(%q) error = %v, want one containing %q wrapping ErrInvalidWindow", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWindow(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseWindow(%q) (-want +got):\n%s", tc.in, diff)
			}
			if got.Start.Location() != time.UTC || got.End.Location() != time.UTC {
				t.Errorf("ParseWindow(%q) = %v, not in UTC", tc.in, got)
			}
		})
	}
}

func TestWindowString(t *testing.T) {
	w := Window{utc(2026, 10, 1, 0, 0, 0), time.Date(2026, 10, 2, 2, 0, 0, 0, time.FixedZone("x", 7200))}
	if got, want := w.String(), "2026-10-01T00:00:00Z,2026-10-02T00:00:00Z"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestSteps(t *testing.T) {
	w := Window{utc(2026, 10, 1, 0, 0, 0), utc(2026, 10, 3, 12, 0, 0)}
	want := []Window{
		{utc(2026, 10, 1, 0, 0, 0), utc(2026, 10, 2, 0, 0, 0)},
		{utc(2026, 10, 2, 0, 0, 0), utc(2026, 10, 3, 0, 0, 0)},
		{utc(2026, 10, 3, 0, 0, 0), utc(2026, 10, 3, 12, 0, 0)},
	}
	if diff := cmp.Diff(want, Steps(w, 24*time.Hour)); diff != "" {
		t.Errorf("Steps (-want +got):\n%s", diff)
	}
	if got := Steps(Window{w.End, w.Start}, time.Hour); got != nil {
		t.Errorf("Steps of an inverted window = %v, want nil", got)
	}
}
