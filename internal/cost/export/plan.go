package export

import (
	"fmt"
	"time"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// Job is one period to export to one file.
type Job struct {
	Period period.Window
	File   string
}

// Plan lists, oldest first, the closed periods of granularity g since from
// whose file does not exist yet. exists reports whether an export file is
// already there; a closed period's file is never rewritten.
func Plan(prefix string, g period.Granularity, from, now time.Time, grace time.Duration, exists func(name string) (bool, error)) ([]Job, error) {
	closed, err := period.Closed(g, from, now, grace)
	if err != nil {
		return nil, fmt.Errorf("listing closed periods: %w", err)
	}
	var jobs []Job
	for _, p := range closed {
		name, err := period.FileName(prefix, g, p)
		if err != nil {
			return nil, err
		}
		done, err := exists(name)
		if err != nil {
			return nil, fmt.Errorf("checking %s: %w", name, err)
		}
		if !done {
			jobs = append(jobs, Job{Period: p, File: name})
		}
	}
	return jobs, nil
}

// Next is when the next period of granularity g after now closes, for a
// timed requeue.
func Next(g period.Granularity, now time.Time, grace time.Duration) (time.Time, error) {
	p, err := g.Of(now.Add(-grace))
	if err != nil {
		return time.Time{}, err
	}
	return p.End.Add(grace), nil
}
