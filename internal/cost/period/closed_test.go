package period

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClosed(t *testing.T) {
	day := func(d int) Window { return DayOf(utc(2026, 10, d, 0, 0, 0)) }
	tests := []struct {
		name  string
		g     Granularity
		from  time.Time
		now   time.Time
		grace time.Duration
		want  []Window
	}{
		{name: "day not yet past grace", g: Daily, from: utc(2026, 10, 1, 0, 0, 0), now: utc(2026, 10, 2, 5, 59, 59), grace: DefaultGrace},
		{name: "day exactly at grace", g: Daily, from: utc(2026, 10, 1, 0, 0, 0), now: utc(2026, 10, 2, 6, 0, 0), grace: DefaultGrace, want: []Window{day(1)}},
		{name: "from mid-day starts at its day", g: Daily, from: utc(2026, 10, 1, 13, 0, 0), now: utc(2026, 10, 4, 7, 0, 0), grace: DefaultGrace, want: []Window{day(1), day(2), day(3)}},
		{name: "negative grace is zero", g: Daily, from: utc(2026, 10, 1, 0, 0, 0), now: utc(2026, 10, 2, 0, 0, 0), grace: -time.Hour, want: []Window{day(1)}},
		{name: "month open", g: Monthly, from: utc(2026, 9, 1, 0, 0, 0), now: utc(2026, 10, 1, 5, 0, 0), grace: DefaultGrace},
		{name: "months closed", g: Monthly, from: utc(2026, 8, 20, 0, 0, 0), now: utc(2026, 10, 1, 6, 0, 0), grace: DefaultGrace,
			want: []Window{MonthOf(utc(2026, 8, 1, 0, 0, 0)), MonthOf(utc(2026, 9, 1, 0, 0, 0))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Closed(tc.g, tc.from, tc.now, tc.grace)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Closed (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Closed("weekly", utc(2026, 1, 1, 0, 0, 0), utc(2026, 2, 1, 0, 0, 0), 0); err == nil {
		t.Error("Closed with an unknown granularity succeeded")
	}
	if _, err := Closed(Daily, time.Time{}, utc(2026, 2, 1, 0, 0, 0), 0); err == nil {
		t.Error("Closed from the zero time succeeded, want a bound error")
	}
}

func TestFileName(t *testing.T) {
	p := DayOf(utc(2026, 10, 7, 12, 0, 0))
	got, err := FileName("chargeback", Daily, p)
	if err != nil || got != "chargeback-daily-2026-10-07.csv" {
		t.Errorf("FileName daily = %q, %v", got, err)
	}
	got, err = FileName("chargeback", Monthly, MonthOf(p.Start))
	if err != nil || got != "chargeback-monthly-2026-10.csv" {
		t.Errorf("FileName monthly = %q, %v", got, err)
	}
	if _, err := FileName("x", "hourly", p); err == nil {
		t.Error("FileName with an unknown granularity succeeded")
	}
}
