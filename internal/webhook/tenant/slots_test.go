package tenant

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlanSlot(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	live, expired := now.Add(-SlotTTL/2), now.Add(-SlotTTL)
	members := []string{"root", "a", "b"}
	tests := []struct {
		name        string
		stored      Slots
		anchor      string
		wantOthers  int
		wantCounted bool
		wantNext    []string
	}{
		{"empty ledger", nil, "x", 3, false, []string{"x"}},
		{"live reservations count, expired ones are dropped", Slots{"c": live, "d": expired}, "x", 4, false, []string{"c", "x"}},
		{"a reservation the forest already sees counts once", Slots{"a": live}, "x", 3, false, []string{"a", "x"}},
		{"re-creating the anchor of a member", Slots{"c": live}, "b", 3, true, []string{"c"}},
		{"a retried request for a reserved name", Slots{"c": live}, "c", 3, true, []string{"c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := PlanSlot(members, tc.stored, tc.anchor, now)
			if p.Others != tc.wantOthers || p.Counted != tc.wantCounted {
				t.Errorf("PlanSlot = others %d counted %v, want %d %v", p.Others, p.Counted, tc.wantOthers, tc.wantCounted)
			}
			var next []string
			for n := range p.Next {
				next = append(next, n)
			}
			slices.Sort(next)
			if d := cmp.Diff(tc.wantNext, next); d != "" {
				t.Errorf("next ledger (-want +got):\n%s", d)
			}
			if !tc.wantCounted && !p.Next[tc.anchor].Equal(now) {
				t.Errorf("new reservation at %v, want %v", p.Next[tc.anchor], now)
			}
		})
	}
}
