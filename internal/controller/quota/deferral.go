package quota

import "time"

// deferQuiet is how long a namespace's singletons must have gone unwritten
// before the delayed look writes one (deferral). It is shorter than
// DefaultQuiet: a namespace that creates a pod every few hundred
// milliseconds (CI jobs) is not in a burst, and a look put off past its
// next creation moves the release into that admission, which then waits
// releaseSettle; a burst writes every few milliseconds.
const deferQuiet = 50 * time.Millisecond

// replenishDeferMax bounds how long the delayed look at a namespace waits
// for its admissions to pause (deferral).
const replenishDeferMax = time.Second

// deferral returns how long the leader's delayed look at ns waits before
// it writes, 0 for not at all. Any write of a singleton makes an admission
// in flight in its namespace conflict, and the API server retries a
// conflict only three times, from a cache that may not show the write yet.
// The delayed look writes at the version its cache holds, with no
// admission to tell it which one is in flight, so while the namespace's
// singletons were written less than deferQuiet ago (admissions going on, seen
// by the history on any replica) it waits, for at most replenishDeferMax
// in all. Waiting refuses nothing that fits: every admission the webhook
// judges outside a grant releases first, at the version admitted
// (ReleaseNow), and one within a grant had room. What waits is only the
// departed pod leaving the quotas' status.used; in the audit logs of the
// race tests, such looks 100 ms after a probe went made admissions
// conflict about ten times a run.
func (r *Replenisher) deferral(ns string, now time.Time) time.Duration {
	last, seen := r.history.lastWrite(ns)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !seen || now.Sub(last) >= deferQuiet {
		delete(r.deferred, ns)
		return 0
	}
	if r.deferred == nil {
		r.deferred = map[string]time.Time{}
	}
	first, ok := r.deferred[ns]
	if !ok {
		first = now
		r.deferred[ns] = now
	}
	if now.Sub(first) >= replenishDeferMax {
		delete(r.deferred, ns)
		return 0
	}
	return max(deferQuiet-now.Sub(last), 10*time.Millisecond)
}
