package quota

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// seenOf answers a reader's forest's HierarchyConfiguration versions from
// a map (a namespace not in it has none: 0).
func seenOf(versions map[string]uint64) func(string) uint64 {
	return func(ns string) uint64 { return versions[ns] }
}

// A move judged into a tree holds its usage there: an admission decided
// while the reader's forest reflects the version the move was judged on
// counts it, and stops counting it once the forest reflects a later one,
// whether that shows the move or not. No clock ends it.
func TestWithHoldsCountsAMoveUntilTheForestShowsALaterVersion(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := NewSnapshot(paymentsTree(), []Quota{hrq("payments", "q", "pods=17", t)}, paymentsUsage(t))
	mover := Moved{Root: "mover", Tree: Tree{"mover": ""}, Usage: Usage{{Namespace: "mover"}: rl(t, "pods=2")}}
	if err := DecideMove(s, mover, "web"); err != nil {
		t.Fatalf("the move fits: %v", err)
	}
	grow := func(s *Snapshot) error { return Decide(s, "batch", "", rl(t, "pods=1")) }
	if err := grow(s); err != nil {
		t.Fatalf("without the hold, one more pod fits: %v", err)
	}
	for _, tc := range []struct {
		name    string
		judged  uint64
		seen    map[string]uint64
		counted bool
	}{
		{name: "the forest reflects the judged version", judged: 40, seen: map[string]uint64{"mover": 40}, counted: true},
		{name: "the forest lags behind the judged version", judged: 40, seen: map[string]uint64{"mover": 31}, counted: true},
		{name: "the forest reflects a later version (the move, or a fence)", judged: 40, seen: map[string]uint64{"mover": 41}, counted: false},
		{name: "a create, no HierarchyConfiguration in the forest yet", judged: 0, seen: map[string]uint64{}, counted: true},
		{name: "a create, the forest shows the HierarchyConfiguration", judged: 0, seen: map[string]uint64{"mover": 7}, counted: false},
		{name: "another namespace's later version changes nothing", judged: 40, seen: map[string]uint64{"mover": 40, "web": 99}, counted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := WithHold(&Ledger{Root: "payments", Entries: map[Key]Entry{}}, HoldFor(mover, "", "web", "", tc.judged, now))
			err := grow(WithHolds(l, s, seenOf(tc.seen)))
			if tc.counted && err == nil {
				t.Fatal("an admission beside a held move of 2 pods into 15 of 17 was allowed")
			}
			if !tc.counted && err != nil {
				t.Fatalf("the hold still counts: %v", err)
			}
		})
	}
}

// Within one tree, the subtree already counts under its old parent: the
// hold counts it in the branch it enters and takes it back at the common
// ancestor, so the quota above both counts it once.
func TestWithHoldsWithinATreeCountsOnce(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := NewSnapshot(paymentsTree(), []Quota{hrq("payments", "q", "pods=16", t), hrq("web", "w", "pods=12", t)}, paymentsUsage(t))
	m := s.Subtree("api-v1")
	if err := DecideMove(s, m, "web"); err != nil {
		t.Fatalf("the move fits: %v", err)
	}
	l := WithHold(&Ledger{Root: "payments", Entries: map[Key]Entry{}}, HoldFor(m, "api", "web", "payments", 12, now))
	held := WithHolds(l, s, seenOf(map[string]uint64{"api-v1": 12}))
	if got := String(SubtreeUsage(held, "payments", "")); got != "pods=15" {
		t.Errorf("payments with the hold = %s, want pods=15 (api-v1 once)", got)
	}
	if got := String(SubtreeUsage(held, "web", "")); got != "pods=12" {
		t.Errorf("web with the hold = %s, want pods=12", got)
	}
	if got := String(SubtreeUsage(held, "api", "")); got != "pods=6" {
		t.Errorf("api with the hold = %s, want pods=6 (the move may never be stored)", got)
	}
	if err := Decide(held, "batch", "", rl(t, "pods=1")); err != nil {
		t.Errorf("one pod beside, under q only: %v, want it admitted", err)
	}
	if err := Decide(held, "web", "", rl(t, "pods=9")); err == nil {
		t.Error("one more pod in web, full with the held move, was admitted")
	}
}

// Two judgements of moving one namespace under two parents (two requests
// in flight, at most one of which the API server stores) both count; a
// judgement of the same move again replaces the earlier one.
func TestHoldsPerParent(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	m := Moved{Root: "mover", Tree: Tree{"mover": ""}, Usage: Usage{{Namespace: "mover"}: rl(t, "pods=2")}}
	l := WithHold(&Ledger{Root: "payments", Entries: map[Key]Entry{}}, HoldFor(m, "", "web", "", 40, now))
	l = WithHold(l, HoldFor(m, "", "batch", "", 40, now))
	l = WithHold(l, HoldFor(m, "", "web", "", 41, now))
	if len(l.Holds) != 2 || l.Holds["mover.web"].Version != 41 || l.Holds["mover.batch"].Version != 40 {
		t.Fatalf("holds = %v, want mover.web at 41 and mover.batch at 40", l.Holds)
	}
	s := NewSnapshot(paymentsTree(), []Quota{hrq("payments", "q", "pods=17", t)}, paymentsUsage(t))
	if got := String(SubtreeUsage(WithHolds(l, s, seenOf(nil)), "payments", "")); got != "pods=19" {
		t.Errorf("payments with both holds = %s, want pods=19", got)
	}
	if l2 := WithoutHold(l, "mover", "web"); len(l2.Holds) != 1 || len(l.Holds) != 2 {
		t.Errorf("WithoutHold left %v (and the original %v)", l2.Holds, l.Holds)
	}
}

func TestHoldsRoundTrip(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := &Ledger{Root: "payments", Entries: map[Key]Entry{{Namespace: "web"}: {Used: rl(t, "pods=8"), Base: 7}}}
	l = WithHold(l, Hold{Namespace: "api-v1", OldParent: "api", Parent: "web", LCA: "payments", Version: 33,
		Usage: map[string]corev1.ResourceList{"": rl(t, "pods=4"), highPriority: rl(t, "pods=3")}, At: now.Unix()})
	l = WithHold(l, Hold{Namespace: "mover", Parent: "batch", At: now.Add(-time.Minute).Unix()})
	back, err := DecodeLedger(EncodeLedger(l))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l.Holds, back.Holds, quantityEqual); diff != "" {
		t.Fatalf("holds after a round trip (-want +got):\n%s", diff)
	}
	if pruned, _ := Prune(back, func(Key) bool { return false }); len(pruned.Holds) != 2 {
		t.Errorf("Prune dropped holds: %v", pruned.Holds)
	}
	if d := DropHolds(back, []string{"mover.batch"}); len(d.Holds) != 1 || len(back.Holds) != 2 {
		t.Errorf("DropHolds left %v (and the original %v)", d.Holds, back.Holds)
	}
	// A hold written before holds named their namespace.
	old := EncodeLedger(&Ledger{Root: "payments", Entries: map[Key]Entry{}})
	old["_hold.legacy"] = `{"oldParent":"a","parent":"b","usage":{"":{"pods":"1"}},"at":5}`
	got, err := DecodeLedger(old)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := got.Holds["legacy.b"]; !ok || h.Namespace != "legacy" {
		t.Errorf("legacy hold decoded as %v", got.Holds)
	}
}

// The leader fences a hold no forest settles HoldFence after its judgement,
// and drops a settled one HoldSettle after it first found it settled.
func TestStepHold(t *testing.T) {
	at := time.Unix(1_000_000, 0)
	h := Hold{Namespace: "mover", Parent: "web", Version: 40, At: at.Unix()}
	for _, tc := range []struct {
		name     string
		settled  time.Time
		now      time.Time
		step     HoldStep
		lookNext time.Duration
	}{
		{name: "just judged", now: at, step: HoldWait, lookNext: HoldFence},
		{name: "unsettled, before the fence", now: at.Add(4 * time.Second), step: HoldWait, lookNext: HoldFence - 4*time.Second},
		{name: "unsettled at the fence", now: at.Add(HoldFence), step: HoldFenceIt, lookNext: time.Second},
		{name: "unsettled long after", now: at.Add(time.Hour), step: HoldFenceIt, lookNext: time.Second},
		{name: "settled a moment ago", settled: at.Add(time.Second), now: at.Add(2 * time.Second), step: HoldWait, lookNext: HoldSettle - time.Second},
		{name: "settled long enough", settled: at.Add(time.Second), now: at.Add(time.Second + HoldSettle), step: HoldDrop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, next := StepHold(h, tc.settled, tc.now)
			if step != tc.step || next != tc.lookNext {
				t.Errorf("StepHold = %v, %v; want %v, %v", step, next, tc.step, tc.lookNext)
			}
		})
	}
}

// A move from another tree carries the subtree's reservations into the new
// tree's ledger, where they are later than the ledger's own.
func TestCarry(t *testing.T) {
	m := Moved{Root: "x", Tree: Tree{"x": "", "x1": "x"}}
	from := &Ledger{Root: "old", Entries: map[Key]Entry{
		{Namespace: "x"}:                       {Used: rl(t, "pods=3"), Base: 40},
		{Namespace: "x1", Scope: highPriority}: {Used: rl(t, "pods=1"), Base: 41},
		{Namespace: "stays"}:                   {Used: rl(t, "pods=9"), Base: 42},
	}}
	l := &Ledger{Root: "new", Entries: map[Key]Entry{
		{Namespace: "web"}: {Used: rl(t, "pods=8"), Base: 7},
		{Namespace: "x"}:   {Used: rl(t, "pods=2"), Base: 39},
	}}
	got := Carry(l, from, m)
	if len(l.Entries) != 2 || l.Entries[Key{Namespace: "x"}].Base != 39 {
		t.Fatalf("Carry modified its input: %v", l.Entries)
	}
	want := map[Key]Entry{
		{Namespace: "web"}:                     {Used: rl(t, "pods=8"), Base: 7},
		{Namespace: "x"}:                       {Used: rl(t, "pods=3"), Base: 40},
		{Namespace: "x1", Scope: highPriority}: {Used: rl(t, "pods=1"), Base: 41},
	}
	if diff := cmp.Diff(want, got.Entries, quantityEqual); diff != "" {
		t.Errorf("Carry (-want +got):\n%s", diff)
	}
	if Carry(l, nil, m) != l {
		t.Error("Carry from no ledger changed the ledger")
	}
}
