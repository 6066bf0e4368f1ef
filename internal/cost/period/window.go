package period

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Window is the half-open UTC interval [Start, End).
type Window struct {
	Start time.Time
	End   time.Time
}

// AcceptedForms names the window forms ParseWindow accepts, for messages.
const AcceptedForms = `"START,END" with dates (2026-10-01,2026-11-01; END exclusive) or RFC 3339 times, "lastmonth", "mtd", "yesterday" or "today" (all UTC)`

// ErrInvalidWindow is wrapped by every error ParseWindow returns.
var ErrInvalidWindow = errors.New("invalid window")

// String renders the window the way OpenCost's window parameter takes it:
// two RFC 3339 UTC times separated by a comma.
func (w Window) String() string {
	return w.Start.UTC().Format(time.RFC3339) + "," + w.End.UTC().Format(time.RFC3339)
}

// Duration is End minus Start.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// Validate reports whether the window is a non-empty UTC interval.
func (w Window) Validate() error {
	if w.Start.IsZero() || w.End.IsZero() {
		return fmt.Errorf("%w: start and end must both be set", ErrInvalidWindow)
	}
	if !w.End.After(w.Start) {
		return fmt.Errorf("%w: end %s is not after start %s", ErrInvalidWindow,
			w.End.UTC().Format(time.RFC3339), w.Start.UTC().Format(time.RFC3339))
	}
	return nil
}

// ParseWindow turns a user-facing window into an explicit UTC interval.
// now is the current time; relative forms are computed from it in UTC.
//
//   - "2026-10-01,2026-11-01": dates at UTC midnight, the end exclusive;
//   - "2026-10-01T00:00:00Z,2026-10-02T12:00:00+02:00": RFC 3339 times;
//   - "lastmonth": the previous calendar month;
//   - "mtd": from the first of this month to now;
//   - "yesterday": the previous UTC day;
//   - "today": from UTC midnight to now.
//
// Relative forms that end at now are truncated to the second.
func ParseWindow(s string, now time.Time) (Window, error) {
	now = now.UTC().Truncate(time.Second)
	in := strings.ToLower(strings.TrimSpace(s))
	var w Window
	switch in {
	case "":
		return Window{}, fmt.Errorf("%w: empty; accepted forms: %s", ErrInvalidWindow, AcceptedForms)
	case "lastmonth":
		this := MonthOf(now)
		w = MonthOf(this.Start.AddDate(0, -1, 0))
	case "mtd":
		w = Window{Start: MonthOf(now).Start, End: now}
	case "yesterday":
		w = DayOf(now.AddDate(0, 0, -1))
	case "today":
		w = Window{Start: DayOf(now).Start, End: now}
	default:
		start, end, ok := strings.Cut(strings.TrimSpace(s), ",")
		if !ok {
			return Window{}, fmt.Errorf("%w %q; accepted forms: %s", ErrInvalidWindow, s, AcceptedForms)
		}
		var err error
		if w.Start, err = parseInstant(start); err != nil {
			return Window{}, fmt.Errorf("%w %q: start: %w; accepted forms: %s", ErrInvalidWindow, s, err, AcceptedForms)
		}
		if w.End, err = parseInstant(end); err != nil {
			return Window{}, fmt.Errorf("%w %q: end: %w; accepted forms: %s", ErrInvalidWindow, s, err, AcceptedForms)
		}
	}
	if err := w.Validate(); err != nil {
		return Window{}, fmt.Errorf("window %q: %w", s, err)
	}
	return w, nil
}

func parseInstant(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (YYYY-MM-DD) nor an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// DayOf is the UTC day containing t.
func DayOf(t time.Time) Window {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return Window{Start: start, End: start.AddDate(0, 0, 1)}
}

// MonthOf is the UTC calendar month containing t.
func MonthOf(t time.Time) Window {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return Window{Start: start, End: start.AddDate(0, 1, 0)}
}

// Steps splits w into consecutive steps of length step, the last one
// possibly shorter, the way OpenCost's step parameter does.
func Steps(w Window, step time.Duration) []Window {
	if step <= 0 || !w.End.After(w.Start) {
		return nil
	}
	var out []Window
	for s := w.Start; s.Before(w.End); s = s.Add(step) {
		e := s.Add(step)
		if e.After(w.End) {
			e = w.End
		}
		out = append(out, Window{Start: s, End: e})
	}
	return out
}
