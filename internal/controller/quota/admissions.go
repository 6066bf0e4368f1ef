package quota

import (
	"sync"
	"time"
)

// Writing a singleton between admissions.
//
// The API server's quota admission writes a singleton's status with the
// resourceVersion its informer shows. When anyone else writes the singleton
// while an admission is in flight, that admission's write conflicts; the API
// server then reads its informer again and retries at once, three times,
// and when the informer has not yet delivered the other write, every retry
// conflicts and the creations are refused with "the object has been
// modified". A creation that fits is refused.
//
// The clamp is written inside the admission it serves, while the API server
// holds the namespace's other admissions back, and so collides with none.
// The status webhook's correction of a stale recount is a repair that can
// wait, and waits until the namespace has been quiet: no admission of it
// judged by this replica for DefaultQuiet. (Admissions that only the API
// server judges, refusing creations above a singleton's own hard, write
// nothing and cannot conflict.) A clamp's restore cannot wait like that:
// the clamp would go on refusing what fits. The leader's delayed release of
// departed pods could not either while only it released, at its own pace
// (tried in the race tests, waiting left 99 of 100 admitted); since every
// admission the webhook judges outside a grant releases first, at the
// version admitted (Replenisher.ReleaseNow), it waits for the namespace's
// singletons to pause, for at most a second (Replenisher.deferral).

// DefaultQuiet is how long a namespace must have had no admission before
// the manager repairs one of its singletons.
const DefaultQuiet = 100 * time.Millisecond

// admissionsKept bounds how many namespaces Admissions remembers before it
// forgets those quiet for longer than admissionsForget.
const (
	admissionsKept   = 4096
	admissionsForget = time.Minute
)

// Admissions records when this replica last judged an admission of each
// namespace's singletons. The zero value is ready; a nil *Admissions knows
// of no admission.
type Admissions struct {
	mu   sync.Mutex
	last map[string]time.Time
	// open counts, per namespace, the admissions being judged now (a
	// clamp's holds its answer back for a while).
	open map[string]int
	// Now defaults to time.Now.
	Now func() time.Time
}

func (a *Admissions) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Begin records an admission of ns being judged from now until the
// returned func is called, when its answer goes back to the API server,
// which may retry it at once: ns is busy until quiet after that.
func (a *Admissions) Begin(ns string) (end func()) {
	if a == nil {
		return func() {}
	}
	a.mu.Lock()
	if a.open == nil {
		a.open = map[string]int{}
	}
	a.open[ns]++
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		if a.open[ns]--; a.open[ns] <= 0 {
			delete(a.open, ns)
		}
		a.mu.Unlock()
		a.Seen(ns)
	}
}

// Seen records an admission of ns answered now.
func (a *Admissions) Seen(ns string) {
	if a == nil {
		return
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		a.last = map[string]time.Time{}
	}
	if len(a.last) >= admissionsKept {
		for k, t := range a.last {
			if now.Sub(t) > admissionsForget {
				delete(a.last, k)
			}
		}
	}
	a.last[ns] = now
}

// QuietIn returns how long until ns will have had no admission for quiet:
// zero when it already has, and quiet while one is being judged.
func (a *Admissions) QuietIn(ns string, quiet time.Duration) time.Duration {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	last, ok := a.last[ns]
	open := a.open[ns] > 0
	a.mu.Unlock()
	if open {
		return quiet
	}
	if !ok {
		return 0
	}
	if wait := quiet - a.now().Sub(last); wait > 0 {
		return wait
	}
	return 0
}
