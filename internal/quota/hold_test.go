package quota

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// forestOf answers parentOf from a map (a namespace not in it is a root).
func forestOf(parents map[string]string) func(string) string {
	return func(ns string) string { return parents[ns] }
}

// A move judged into a tree holds its usage there: an admission decided
// before the reader's forest shows the move counts it, and stops counting
// it once the forest shows any other parent or the hold expires.
func TestWithHoldsCountsAMoveUntilTheForestShowsIt(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := NewSnapshot(paymentsTree(), []Quota{hrq("payments", "q", "pods=17", t)}, paymentsUsage(t))
	mover := Moved{Root: "mover", Tree: Tree{"mover": ""}, Usage: Usage{{Namespace: "mover"}: rl(t, "pods=2")}}
	if err := DecideMove(s, mover, "web"); err != nil {
		t.Fatalf("the move fits: %v", err)
	}
	l := WithHold(&Ledger{Root: "payments", Entries: map[Key]Entry{}}, "mover", HoldFor(mover, "", "web", "", now), now)
	grow := func(s *Snapshot) error { return Decide(s, "batch", "", rl(t, "pods=1")) }
	if err := grow(s); err != nil {
		t.Fatalf("without the hold, one more pod fits: %v", err)
	}
	for _, tc := range []struct {
		name    string
		forest  map[string]string
		at      time.Time
		counted bool
	}{
		{name: "the forest shows the old parent", forest: map[string]string{}, at: now, counted: true},
		{name: "29 s later", forest: map[string]string{}, at: now.Add(29 * time.Second), counted: true},
		{name: "the forest shows the move", forest: map[string]string{"mover": "web"}, at: now, counted: false},
		{name: "the forest shows a later move", forest: map[string]string{"mover": "elsewhere"}, at: now, counted: false},
		{name: "the move was never stored, 31 s later", forest: map[string]string{}, at: now.Add(31 * time.Second), counted: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := grow(WithHolds(l, s, forestOf(tc.forest), tc.at))
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
	l := WithHold(&Ledger{Root: "payments", Entries: map[Key]Entry{}}, "api-v1", HoldFor(m, "api", "web", "payments", now), now)
	held := WithHolds(l, s, forestOf(paymentsTree()), now)
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

func TestHoldsRoundTripAndPrune(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := &Ledger{Root: "payments", Entries: map[Key]Entry{{Namespace: "web"}: {Used: rl(t, "pods=8"), Base: 7}}}
	fresh := Hold{OldParent: "api", Parent: "web", LCA: "payments", Usage: map[string]corev1.ResourceList{"": rl(t, "pods=4"), highPriority: rl(t, "pods=3")}, At: now.Unix()}
	l = WithHold(l, "api-v1", fresh, now)
	l = WithHold(l, "old", Hold{Parent: "web", At: now.Add(-time.Minute).Unix()}, now.Add(-time.Minute))
	l = WithHold(l, "mover", Hold{Parent: "batch", At: now.Add(-11 * time.Second).Unix()}, now)
	if _, ok := l.Holds["old"]; ok {
		t.Fatal("WithHold kept an expired hold")
	}
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
	// mover's move shows in the leader's forest and is 11 s old; api-v1's
	// does not yet.
	pruned, changed := PruneHolds(back, forestOf(map[string]string{"mover": "batch", "api-v1": "api"}), now)
	if !changed || len(pruned.Holds) != 1 || pruned.Holds["api-v1"].Parent != "web" {
		t.Errorf("PruneHolds = %v (changed %v), want api-v1's only", pruned.Holds, changed)
	}
	if _, changed := PruneHolds(pruned, forestOf(map[string]string{"api-v1": "api"}), now.Add(5*time.Second)); changed {
		t.Error("PruneHolds dropped a hold whose move the forest does not show yet")
	}
	if p, _ := PruneHolds(pruned, forestOf(map[string]string{"api-v1": "api"}), now.Add(31*time.Second)); len(p.Holds) != 0 {
		t.Errorf("PruneHolds kept an expired hold: %v", p.Holds)
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
