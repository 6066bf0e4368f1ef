package quota

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"

	"github.com/canopyhq/canopy/internal/quota"
)

// TestDeferralWaitsForAdmissionsToPause is the leader's delayed look at a
// namespace whose singletons are being written: it waits until they were
// last written deferQuiet ago, and never longer than replenishDeferMax in all.
func TestDeferralWaitsForAdmissionsToPause(t *testing.T) {
	r := &Replenisher{}
	r.history.forget()
	now := time.Now()
	if d := r.deferral("team", now); d != 0 {
		t.Errorf("a namespace whose singletons were never seen written: deferred %v, want 0", d)
	}
	r.history.observe(watch.Modified, singletonAt(10, 1, quota.AdmissionManager))
	written, _ := r.history.lastWrite("team")
	if d := r.deferral("team", written.Add(30*time.Millisecond)); d != deferQuiet-30*time.Millisecond {
		t.Errorf("30 ms after an admission: deferred %v, want %v", d, deferQuiet-30*time.Millisecond)
	}
	if d := r.deferral("other", written); d != 0 {
		t.Errorf("another namespace: deferred %v, want 0", d)
	}
	if d := r.deferral("team", written.Add(deferQuiet)); d != 0 {
		t.Errorf("deferQuiet after the last admission: deferred %v, want 0", d)
	}
	// Admissions that never pause: the look waits at most replenishDeferMax.
	base := written.Add(time.Minute)
	r.history.wrote["team"] = base
	if d := r.deferral("team", base.Add(10*time.Millisecond)); d != deferQuiet-10*time.Millisecond {
		t.Fatalf("10 ms after an admission: deferred %v, want %v", d, deferQuiet-10*time.Millisecond)
	}
	r.history.wrote["team"] = base.Add(replenishDeferMax)
	if d := r.deferral("team", base.Add(replenishDeferMax).Add(5*time.Millisecond)); d != deferQuiet-5*time.Millisecond {
		t.Errorf("5 ms after an admission, still within the bound: deferred %v, want %v", d, deferQuiet-5*time.Millisecond)
	}
	if d := r.deferral("team", base.Add(replenishDeferMax).Add(10*time.Millisecond)); d != 0 {
		t.Errorf("replenishDeferMax after the first deferral, admissions still going on: deferred %v, want 0", d)
	}
	// The bound starts again for the next departure.
	if d := r.deferral("team", base.Add(replenishDeferMax).Add(20*time.Millisecond)); d != deferQuiet-20*time.Millisecond {
		t.Errorf("after the bound was reached once: deferred %v, want %v", d, deferQuiet-20*time.Millisecond)
	}
}
