package quota

import (
	"testing"
	"time"
)

// A tree is refreshed at once after a quiet StatusRefresh, then at most
// once per StatusRefresh; trees do not hold each other back.
func TestStatusRefreshDue(t *testing.T) {
	s := &statusRefresher{}
	t0 := time.Unix(1000, 0)
	if d := s.due("a", t0); d != 0 {
		t.Fatalf("first change of a quiet tree waits %v, want 0", d)
	}
	if d := s.due("b", t0); d != 0 {
		t.Fatalf("another tree waits %v behind the first, want 0", d)
	}
	if d := s.due("a", t0.Add(300*time.Millisecond)); d != StatusRefresh-300*time.Millisecond {
		t.Fatalf("a change 300ms after a refresh waits %v, want %v", d, StatusRefresh-300*time.Millisecond)
	}
	if d := s.due("a", t0.Add(StatusRefresh)); d != 0 {
		t.Fatalf("the requeued refresh waits %v, want 0", d)
	}
	if d := s.due("a", t0.Add(StatusRefresh+time.Millisecond)); d <= 0 {
		t.Fatalf("a change right after the requeued refresh waits %v, want the next period", d)
	}
}
