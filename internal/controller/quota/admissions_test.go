package quota

import (
	"fmt"
	"testing"
	"time"
)

func TestAdmissionsQuietIn(t *testing.T) {
	now := time.Unix(1000, 0)
	a := &Admissions{Now: func() time.Time { return now }}
	if w := a.QuietIn("a", time.Second); w != 0 {
		t.Errorf("a namespace never admitted waits %v, want 0", w)
	}
	a.Seen("a")
	now = now.Add(300 * time.Millisecond)
	if w := a.QuietIn("a", time.Second); w != 700*time.Millisecond {
		t.Errorf("300 ms after an admission, quiet for 1 s in %v, want 700ms", w)
	}
	if w := a.QuietIn("b", time.Second); w != 0 {
		t.Errorf("another namespace waits %v, want 0", w)
	}
	now = now.Add(700 * time.Millisecond)
	if w := a.QuietIn("a", time.Second); w != 0 {
		t.Errorf("1 s after an admission, waits %v, want 0", w)
	}
	var none *Admissions
	none.Seen("a")
	if w := none.QuietIn("a", time.Second); w != 0 {
		t.Errorf("nil Admissions waits %v, want 0", w)
	}
}

// Namespaces quiet for long are forgotten once many are remembered; the
// busy ones are kept.
func TestAdmissionsForgetQuietNamespaces(t *testing.T) {
	now := time.Unix(1000, 0)
	a := &Admissions{Now: func() time.Time { return now }}
	for i := range admissionsKept {
		a.Seen(fmt.Sprintf("old-%d", i))
	}
	now = now.Add(admissionsForget + time.Second)
	a.Seen("busy")
	a.Seen("busy-2")
	if n := len(a.last); n != 2 {
		t.Errorf("%d namespaces remembered, want the 2 busy ones", n)
	}
	if w := a.QuietIn("busy", time.Second); w != time.Second {
		t.Errorf("busy namespace quiet in %v, want 1s", w)
	}
}

// An admission being judged (a clamp holds its answer back) keeps its
// namespace busy however long it takes, and for quiet after its answer.
func TestAdmissionsBusyWhileJudged(t *testing.T) {
	now := time.Unix(1000, 0)
	a := &Admissions{Now: func() time.Time { return now }}
	end := a.Begin("a")
	now = now.Add(time.Hour)
	if w := a.QuietIn("a", time.Second); w != time.Second {
		t.Errorf("while judged, quiet in %v, want 1s", w)
	}
	end()
	now = now.Add(400 * time.Millisecond)
	if w := a.QuietIn("a", time.Second); w != 600*time.Millisecond {
		t.Errorf("400 ms after the answer, quiet in %v, want 600ms", w)
	}
	if n := len(a.open); n != 0 {
		t.Errorf("%d namespaces still open after the answer", n)
	}
}
