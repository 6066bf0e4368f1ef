package quota

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

// twoTree is root ── a, root ── b.
func twoTree() Tree { return Tree{"root": "", "a": "root", "b": "root"} }

func emptyLedger() *Ledger { return &Ledger{Root: "root", Entries: map[Key]Entry{}} }

// admitAt admits ns from old to next pods at base with the epoch, on a
// snapshot of the committed usage (every singleton at version base).
func admitAt(t *testing.T, l *Ledger, quotas []Quota, used Usage, ns, old, next, epoch string, base uint64) (*Ledger, error) {
	t.Helper()
	s := NewSnapshot(twoTree(), quotas, used)
	vs := Versions{}
	for k := range used {
		vs[k] = base
	}
	return Admit(l, s, vs, Reservation{Namespace: ns, Base: base, Old: rl(t, old), New: rl(t, next),
		Epoch: epoch, Cover: Cover(twoTree(), quotas, ns, "")})
}

func TestAdmitGrantsHeadroomWhileTheTreeHasRoom(t *testing.T) {
	quotas := []Quota{hrq("root", "q", "pods=100", t)}
	used := Usage{{Namespace: "a"}: rl(t, "pods=0"), {Namespace: "b"}: rl(t, "pods=0"), {Namespace: "c"}: rl(t, "pods=0")}
	l, err := admitAt(t, emptyLedger(), quotas, used, "a", "pods=0", "pods=1", "ea", 10)
	if err != nil {
		t.Fatal(err)
	}
	// 64 and 16 times the growth: 1+64 and 1+16 fit a quarter of 100 only
	// for 16.
	if g := l.Grants[Key{Namespace: "a"}]; String(g.Up) != "pods=17" || g.Epoch != "ea" {
		t.Fatalf("grant of a = %+v, want pods=17 at epoch ea", g)
	}
	// b is counted with a's grant: 17 + 1 + 4 fits a quarter, 17+1+16 not.
	l, err = admitAt(t, l, quotas, used, "b", "pods=0", "pods=1", "eb", 11)
	if err != nil {
		t.Fatal(err)
	}
	if g := l.Grants[Key{Namespace: "b"}]; String(g.Up) != "pods=5" {
		t.Fatalf("grant of b = %+v, want pods=5", g)
	}
	// No epoch, no grant.
	l2, err := admitAt(t, emptyLedger(), quotas, used, "a", "pods=0", "pods=1", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l2.Grants[Key{Namespace: "a"}]; ok {
		t.Fatal("a singleton without an epoch got a grant")
	}
	// A tree a quarter full gives none.
	full := Usage{{Namespace: "a"}: rl(t, "pods=0"), {Namespace: "b"}: rl(t, "pods=25")}
	l3, err := admitAt(t, emptyLedger(), quotas, full, "a", "pods=0", "pods=1", "ea", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l3.Grants[Key{Namespace: "a"}]; ok {
		t.Fatal("a tree a quarter full gave a grant")
	}
}

func TestWithin(t *testing.T) {
	quotas := []Quota{hrq("root", "q", "pods=100", t)}
	cover := Cover(twoTree(), quotas, "a", "")
	l := emptyLedger()
	l.Grants = map[Key]Grant{{Namespace: "a"}: {Up: rl(t, "pods=17"), Epoch: "e1", Cover: cover}}
	a := Key{Namespace: "a"}
	tests := []struct {
		name         string
		epoch, cover string
		old, next    string
		want         bool
		key          Key
	}{
		{name: "within", epoch: "e1", old: "pods=3", next: "pods=17", want: true},
		{name: "beyond Up", epoch: "e1", old: "pods=3", next: "pods=18"},
		{name: "another epoch", epoch: "e2", old: "pods=3", next: "pods=4"},
		{name: "no epoch", epoch: "", old: "pods=3", next: "pods=4"},
		{name: "another cover", epoch: "e1", cover: "other", old: "pods=3", next: "pods=4"},
		{name: "a resource the grant does not hold grows", epoch: "e1", old: "pods=3", next: "pods=4,requests.cpu=1"},
		{name: "a resource the grant does not hold stays", epoch: "e1", old: "pods=3,requests.cpu=1", next: "pods=4,cpu=1", want: true},
		{name: "another key", epoch: "e1", old: "pods=3", next: "pods=4", key: Key{Namespace: "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cover
			if tc.cover != "" {
				c = tc.cover
			}
			k := a
			if tc.key != (Key{}) {
				k = tc.key
			}
			if got := Within(l, k, tc.epoch, c, rl(t, tc.old), rl(t, tc.next)); got != tc.want {
				t.Errorf("Within = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCover(t *testing.T) {
	tree := twoTree()
	base := []Quota{hrq("root", "q", "pods=100", t), hrq("a", "q", "cpu=2", t)}
	c := Cover(tree, base, "a", "")
	if got := Cover(tree, []Quota{base[1], base[0]}, "a", ""); got != c {
		t.Error("Cover depends on the order of the quotas")
	}
	if got := Cover(tree, append(base, hrq("b", "q", "pods=1", t)), "a", ""); got != c {
		t.Error("a quota off a's path changed a's cover")
	}
	for name, quotas := range map[string][]Quota{
		"hard lowered":    {hrq("root", "q", "pods=99", t), base[1]},
		"quota removed":   {base[0]},
		"quota added":     append(base, hrq("root", "r", "pods=1", t)),
		"allocation made": {base[0], {Kind: KindHierarchicalQuota, Namespace: "a", Name: "q", Hard: rl(t, "cpu=2"), Allocations: map[string]corev1.ResourceList{"x": rl(t, "cpu=1")}}},
	} {
		if Cover(tree, quotas, "a", "") == c {
			t.Errorf("%s: cover unchanged", name)
		}
	}
	moved := Tree{"root": "", "a": "b", "b": "root"}
	if Cover(moved, base, "a", "") == c {
		t.Error("moving a left its cover unchanged")
	}
	if Cover(tree, base, "a", highPriority) == c {
		t.Error("a scoped key has the unscoped key's cover")
	}
}

func TestGrantsCountAndAreRevocable(t *testing.T) {
	quotas := []Quota{hrq("root", "q", "pods=400", t)}
	used := Usage{{Namespace: "a"}: rl(t, "pods=0"), {Namespace: "b"}: rl(t, "pods=0")}
	l, err := admitAt(t, emptyLedger(), quotas, used, "a", "pods=0", "pods=1", "ea", 10)
	if err != nil {
		t.Fatal(err)
	}
	if g := l.Grants[Key{Namespace: "a"}]; String(g.Up) != "pods=65" {
		t.Fatalf("grant of a = %+v, want pods=65", g)
	}
	used[Key{Namespace: "a"}] = rl(t, "pods=1")
	// b needs 340: it fits the 399 free, not beside a's grant of 65.
	_, err = admitAt(t, l, quotas, used, "b", "pods=0", "pods=340", "eb", 11)
	var exceeded *ExceededError
	if !errors.As(err, &exceeded) {
		t.Fatalf("b's 340 beside a's grant: err = %v, want a denial", err)
	}
	s := NewSnapshot(twoTree(), quotas, used)
	vs := Versions{{Namespace: "a"}: 11, {Namespace: "b"}: 11}
	if got := Revocable(l, s, vs, Key{Namespace: "b"}); !cmp.Equal(got, []Key{{Namespace: "a"}}) {
		t.Fatalf("Revocable = %v, want [a]", got)
	}
	if got := Revocable(l, s, vs, Key{Namespace: "a"}); len(got) != 0 {
		t.Fatalf("Revocable skipping a = %v, want none", got)
	}
	// a's singleton was written with a new epoch at 12, holding 1.
	if Revoke(l, Key{Namespace: "a"}, "other", 12, rl(t, "pods=1")) != nil {
		t.Fatal("Revoke of a grant at another epoch wrote something")
	}
	r := Revoke(l, Key{Namespace: "a"}, "ea", 12, rl(t, "pods=1"))
	if _, ok := r.Grants[Key{Namespace: "a"}]; ok {
		t.Fatal("Revoke left the grant")
	}
	// Counted at 1 by a reader that shows a version before 12, settled by
	// one that shows 12.
	if e := r.Entries[Key{Namespace: "a"}]; String(e.Used) != "pods=1" || e.Base != 11 {
		t.Fatalf("entry after Revoke = %+v, want pods=1 at 11", e)
	}
	if keys := Unsettled(r, Versions{{Namespace: "a"}: 12}); len(keys) != 0 {
		t.Fatalf("the revocation left %v for the leader to settle", keys)
	}
	if over := Pending(r, NewSnapshot(twoTree(), quotas, Usage{{Namespace: "a"}: rl(t, "pods=0")}), Versions{{Namespace: "a"}: 10}, Key{}); String(over[Key{Namespace: "a"}]) != "pods=1" {
		t.Fatalf("a reader before the fence counts %v for a, want pods=1", over)
	}
	if _, ok := l.Grants[Key{Namespace: "a"}]; !ok {
		t.Fatal("Revoke modified its input")
	}
	if _, err := admitAt(t, r, quotas, used, "b", "pods=0", "pods=340", "eb", 12); err != nil {
		t.Fatalf("b's 340 after the revocation: %v", err)
	}
	// An entry at or past the revoking write is kept.
	for _, at := range []uint64{12, 13} {
		later := l.clone()
		later.Entries[Key{Namespace: "a"}] = Entry{Used: rl(t, "pods=2"), Base: at}
		if e := Revoke(later, Key{Namespace: "a"}, "ea", 12, rl(t, "pods=1")).Entries[Key{Namespace: "a"}]; e.Base != at || String(e.Used) != "pods=2" {
			t.Fatalf("entry after Revoke = %+v, want the one at %d kept", e, at)
		}
	}
}

func TestAdmitWithOwnGrant(t *testing.T) {
	quotas := []Quota{hrq("root", "q", "pods=100", t)}
	used := Usage{{Namespace: "a"}: rl(t, "pods=1"), {Namespace: "b"}: rl(t, "pods=60")}
	l := emptyLedger()
	l.Grants = map[Key]Grant{{Namespace: "a"}: {Up: rl(t, "pods=17"), Epoch: "ea", Cover: Cover(twoTree(), quotas, "a", "")}}
	// Growth beyond the alive grant is judged from it: 60 + 40 fits.
	next, err := admitAt(t, l, quotas, used, "a", "pods=1", "pods=40", "ea", 20)
	if err != nil {
		t.Fatalf("a to 40 with its grant of 17: %v", err)
	}
	// The tree is over a quarter full: no new grant, the alive one kept.
	if g := next.Grants[Key{Namespace: "a"}]; String(g.Up) != "pods=17" || g.Epoch != "ea" {
		t.Fatalf("grant after = %+v, want the alive one kept", g)
	}
	if _, err := admitAt(t, l, quotas, used, "a", "pods=1", "pods=41", "ea", 20); err == nil {
		t.Fatal("a to 41 beside b's 60 was allowed")
	}
	// Under another epoch the grant is dead: dropped, and not counted.
	next, err = admitAt(t, l, quotas, used, "a", "pods=1", "pods=2", "eb", 20)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := next.Grants[Key{Namespace: "a"}]; ok {
		t.Fatal("a dead grant was kept")
	}
	// Under another cover the grant does not admit growth within it.
	lowered := []Quota{hrq("root", "q", "pods=61", t)}
	if _, err := admitAt(t, l, lowered, used, "a", "pods=1", "pods=2", "ea", 20); err == nil {
		t.Fatal("growth within a grant decided under a higher hard was allowed after the hard was lowered")
	}
}

func TestLedgerEncodeDecodeGrants(t *testing.T) {
	l := emptyLedger()
	l.Grants = map[Key]Grant{
		{Namespace: "a"}:                      {Up: rl(t, "pods=17,requests.cpu=2"), Epoch: "6f1c", Cover: "abc"},
		{Namespace: "b", Scope: highPriority}: {Up: rl(t, "pods=5"), Epoch: "77", Cover: "def"},
	}
	data := EncodeLedger(l)
	if got := data["_grant.a"]; got != "pods=17,requests.cpu=2;epoch=6f1c;cover=abc" {
		t.Errorf("encoded grant = %q", got)
	}
	got, err := DecodeLedger(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l.Grants, got.Grants, quantityEqual); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if len(got.Entries) != 0 {
		t.Errorf("grants decoded as entries: %v", got.Entries)
	}
	if _, err := DecodeLedger(map[string]string{"_grant.a": "pods=1"}); err == nil {
		t.Error("a grant without an epoch decoded")
	}
	pruned, changed := Prune(got, func(k Key) bool { return k.Namespace == "a" })
	if !changed || len(pruned.Grants) != 1 {
		t.Errorf("Prune kept grants %v, want only a's", pruned.Grants)
	}
}
