package quota

import (
	"reflect"
	"testing"
)

func TestRecordLoweredKeepsTheLatestMark(t *testing.T) {
	a := Key{Namespace: "a"}
	l := &Ledger{Root: "r", Entries: map[Key]Entry{}}
	l1 := RecordLowered(l, a, 10)
	if l1 == nil || l1.Lowered[a] != 10 {
		t.Fatalf("first mark: %v, want a at 10", l1)
	}
	if l.Lowered != nil {
		t.Errorf("RecordLowered changed its input: %v", l.Lowered)
	}
	if RecordLowered(l1, a, 10) != nil || RecordLowered(l1, a, 9) != nil {
		t.Error("a mark at or before the held one must write nothing")
	}
	l2 := RecordLowered(l1, a, 12)
	if l2 == nil || l2.Lowered[a] != 12 || l1.Lowered[a] != 10 {
		t.Errorf("later mark: %v (input %v), want a at 12, input unchanged", l2.Lowered, l1.Lowered)
	}
}

func TestSeenLowered(t *testing.T) {
	a, b := Key{Namespace: "a"}, Key{Namespace: "b", Scope: "PriorityClass In (high)"}
	l := &Ledger{Root: "r", Entries: map[Key]Entry{}, Lowered: map[Key]uint64{a: 10, b: 20}}
	for _, tc := range []struct {
		name     string
		versions Versions
		want     bool
	}{
		{"every singleton past its mark", Versions{a: 11, b: 25}, true},
		{"a singleton still at its mark: its recount may not show", Versions{a: 10, b: 25}, false},
		{"a singleton before its mark", Versions{a: 11, b: 19}, false},
		{"a marked singleton not in the informer", Versions{a: 11}, false},
	} {
		if got := SeenLowered(l, tc.versions); got != tc.want {
			t.Errorf("%s: SeenLowered = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !SeenLowered(&Ledger{Root: "r"}, Versions{}) {
		t.Error("a ledger without marks must count as seen")
	}
}

func TestLoweringMarksEncodeDecodeAndPrune(t *testing.T) {
	a, b := Key{Namespace: "a"}, Key{Namespace: "b", Scope: "PriorityClass In (high)"}
	l := &Ledger{Root: "r", Entries: map[Key]Entry{a: {Used: rl(t, "pods=2"), Base: 5}}, Lowered: map[Key]uint64{a: 10, b: 20}}
	got, err := DecodeLedger(EncodeLedger(l))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Lowered, l.Lowered) || len(got.Entries) != 1 {
		t.Fatalf("decoded %v and %d entries, want marks %v and 1 entry", got.Lowered, len(got.Entries), l.Lowered)
	}
	if _, err := DecodeLedger(map[string]string{"_root": "r", "_lowered.a": "x"}); err == nil {
		t.Error("a mark that is not a number decoded")
	}
	if _, err := DecodeLedger(map[string]string{"_root": "r", "_lowered.a.nosuchid": "3"}); err == nil {
		t.Error("a mark with an unknown scope id decoded")
	}
	pruned, changed := Prune(l, func(k Key) bool { return k == a })
	if !changed || !reflect.DeepEqual(pruned.Lowered, map[Key]uint64{a: 10}) {
		t.Errorf("pruned marks %v (changed %v), want only a's", pruned.Lowered, changed)
	}
	if _, changed := Prune(l, func(Key) bool { return true }); changed {
		t.Error("pruning nothing reported a change")
	}
}
