package period

import (
	"fmt"
	"time"
)

// Granularity is the length of an exported period.
type Granularity string

// Granularities.
const (
	Daily   Granularity = "daily"
	Monthly Granularity = "monthly"
)

// maxPeriods bounds Closed, so a zero or mistaken start cannot make it
// list centuries of days.
const maxPeriods = 10000

// DefaultGrace is how long after its end a period is considered closed.
const DefaultGrace = 6 * time.Hour

// Of is the period of granularity g containing t.
func (g Granularity) Of(t time.Time) (Window, error) {
	switch g {
	case Daily:
		return DayOf(t), nil
	case Monthly:
		return MonthOf(t), nil
	default:
		return Window{}, fmt.Errorf("unknown granularity %q: want %q or %q", g, Daily, Monthly)
	}
}

// Closed lists, oldest first, the periods of granularity g that start at or
// after from's period and are closed at now: their end is at least grace
// before now. A negative grace is treated as zero.
func Closed(g Granularity, from, now time.Time, grace time.Duration) ([]Window, error) {
	if grace < 0 {
		grace = 0
	}
	p, err := g.Of(from)
	if err != nil {
		return nil, err
	}
	cutoff := now.UTC().Add(-grace)
	var out []Window
	for !p.End.After(cutoff) {
		if len(out) == maxPeriods {
			return nil, fmt.Errorf("more than %d %s periods between %s and %s: start the export later",
				maxPeriods, g, p.Start.Format(time.RFC3339), cutoff.Format(time.RFC3339))
		}
		out = append(out, p)
		if p, err = g.Of(p.End); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FileName is the export file of one period:
// <prefix>-daily-2026-10-01.csv or <prefix>-monthly-2026-10.csv.
func FileName(prefix string, g Granularity, p Window) (string, error) {
	switch g {
	case Daily:
		return fmt.Sprintf("%s-daily-%s.csv", prefix, p.Start.UTC().Format(time.DateOnly)), nil
	case Monthly:
		return fmt.Sprintf("%s-monthly-%s.csv", prefix, p.Start.UTC().Format("2006-01")), nil
	default:
		return "", fmt.Errorf("unknown granularity %q: want %q or %q", g, Daily, Monthly)
	}
}
