package quota

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/inf.v0"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Escrow: a grant is headroom the ledger reserves for one key ahead of its
// admissions, so that the admissions within it need no ledger write.
//
// A Grant on key k says k may hold up to Up. Every other decision counts k
// at least at Up for as long as the grant is in the ledger (Counted), so
// the room is never given twice. An admission of k is allowed without a
// write (Within) when its new usage is within Up, when the singleton's old
// object carries the grant's epoch (the singleton annotation the grant was
// issued under), and when the quotas covering k are those the grant was
// decided under (Cover).
//
// The epoch is what makes a grant revocable without a timer. A grant
// leaves the ledger (Revoke) only after its singleton's epoch was changed
// by a write of the singleton: the API server commits a status update only
// at the version the webhook saw, so once that write is stored, no
// admission judged on the old epoch can commit, and the revoker knows the
// singleton's usage at that version includes every admission the grant
// allowed. Until then the grant is counted; after it, the entry the revoker
// records at that version is. A reader's stale cached ledger may still
// show the grant: it only counts more, and an admission judged on it sees
// the new epoch in its old object and decides on the ledger instead. Epochs
// are random and never reused, so no later write can bring an old one
// back; a singleton without an epoch gets no grant.
//
// Grants are given only while the tree has room to spare (grantFor): every
// covering limit must stay within a quarter of its value with the grant
// counted. A tree that fills up gives none, and a decision that would deny
// because of another key's unused grant revokes it first (Revocable), so a
// grant never makes the tree refuse what fits.
type Grant struct {
	// Up is the normalised usage the key may reach without a write.
	Up corev1.ResourceList
	// Epoch is the singleton's epoch annotation the grant was issued at.
	Epoch string
	// Cover is Cover of the quotas and ancestry it was decided under.
	Cover string
}

// grantShare is the fraction of every covering limit (1/grantShare) that
// usage and grants together may reach for a grant to be given.
const grantShare = 4

// grantSteps are the multiples of an admission's growth tried, largest
// first, as the headroom of its grant.
var grantSteps = []int64{64, 16, 4}

// Cover fingerprints what a grant for ns under scope was decided under:
// ns's ancestry and every quota with that scope key on it. A grant whose
// Cover differs from the current one (a quota changed, was added or
// removed, or the namespace moved) admits nothing without a write.
func Cover(tree Tree, quotas []Quota, ns, scope string) string {
	path := tree.Ancestry(ns)
	var b strings.Builder
	b.WriteString(strings.Join(path, "/"))
	var on []Quota
	for _, q := range quotas {
		if q.ScopeKey == scope && slices.Contains(path, q.Namespace) {
			on = append(on, q)
		}
	}
	slices.SortFunc(on, func(a, b Quota) int {
		return strings.Compare(a.Kind+"/"+a.Namespace+"/"+a.Name, b.Kind+"/"+b.Namespace+"/"+b.Name)
	})
	for _, q := range on {
		b.WriteString("|" + q.Kind + "/" + q.Namespace + "/" + q.Name + "=" + String(Normalize(q.Hard)))
		for _, k := range sortedKeys(q.Allocations) {
			b.WriteString(";" + k + ":" + String(Normalize(q.Allocations[k])))
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:12])
}

// Within reports whether an admission of key from old to next usage is
// inside the key's grant in l: the singleton's old object carries the
// grant's epoch, the covering quotas are those it was decided under, and
// every resource that grows stays within Up.
func Within(l *Ledger, key Key, epoch, cover string, old, next corev1.ResourceList) bool {
	g, ok := l.Grants[key]
	if !ok || epoch == "" || g.Epoch != epoch || g.Cover != cover {
		return false
	}
	old, next = Normalize(old), Normalize(next)
	for r, q := range next {
		if q.Cmp(old[r]) <= 0 {
			continue
		}
		up, ok := g.Up[r]
		if !ok || q.Cmp(up) > 0 {
			return false
		}
	}
	return true
}

// Counted is Pending with every other key's grant counted at least at its
// Up: the usage an admission decides with.
func Counted(l *Ledger, s *Snapshot, versions Versions, skip Key) Usage {
	over := Pending(l, s, versions, skip)
	for k, g := range l.Grants {
		if k == skip {
			continue
		}
		if m := Max(without(over, s, k), g.Up); !Equal(m, s.usage[k]) {
			over[k] = m
		}
	}
	return over
}

// without is what k counts without its grant: its pending entry, else
// the snapshot's usage.
func without(pending Usage, s *Snapshot, k Key) corev1.ResourceList {
	if cur, ok := pending[k]; ok {
		return cur
	}
	return s.usage[k]
}

// Revocable lists the keys other than skip whose grant holds room beyond
// what they are counted without it, sorted.
func Revocable(l *Ledger, s *Snapshot, versions Versions, skip Key) []Key {
	pending := Pending(l, s, versions, skip)
	var out []Key
	for k, g := range l.Grants {
		if k == skip {
			continue
		}
		if Grows(without(pending, s, k), g.Up) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b Key) int {
		return strings.Compare(a.Namespace+"\x00"+a.Scope, b.Namespace+"\x00"+b.Scope)
	})
	return out
}

// Revoke drops key's grant issued at epoch, once its singleton was written
// with another epoch at resourceVersion base, where it held used. The
// entry then counts used for readers whose informer shows a version before
// base, and a reader that shows base or later counts its informer's usage,
// which includes every admission the grant allowed; so the entry is
// recorded at base-1, settled by the fencing write itself, and leaves the
// leader nothing to settle. An entry recorded at base or later is newer
// and kept. It returns nil when there is nothing to write: no grant at
// that epoch is left.
func Revoke(l *Ledger, key Key, epoch string, base uint64, used corev1.ResourceList) *Ledger {
	g, ok := l.Grants[key]
	if !ok || g.Epoch != epoch {
		return nil
	}
	out := l.clone()
	delete(out.Grants, key)
	if e, has := l.Entries[key]; !has || e.Base < base {
		out.Entries[key] = Entry{Used: Normalize(used), Base: max(base, 1) - 1}
	}
	return out
}

// WithoutGrants returns l without the grants of keys, to decide what a
// revocation of them would allow; it is not a ledger to write, since no
// fence was written. l itself is not modified.
func WithoutGrants(l *Ledger, keys []Key) *Ledger {
	out := l.clone()
	for _, k := range keys {
		delete(out.Grants, k)
	}
	return out
}

// grantFor returns the grant to record with an admission of r's key from
// cur to next, or ok false when none fits: the largest of grantSteps times
// the growth for which every covering limit stays within 1/grantShare,
// with the grant counted. at counts every other key as Counted does and
// r's key at cur. A grant needs an epoch. The key's own older grant, if
// alive, is kept at least.
func grantFor(at *Snapshot, r Reservation, cur, next corev1.ResourceList, alive *Grant) (Grant, bool) {
	if r.Epoch == "" {
		return Grant{}, false
	}
	growth := Subtract(next, cur)
	for _, k := range grantSteps {
		up := next.DeepCopy()
		for n, d := range growth {
			if d.Sign() > 0 {
				q := up[n]
				q.Add(times(d, k))
				up[n] = q
			}
		}
		if alive != nil {
			up = Max(up, alive.Up)
		}
		if decideWithin(at, r.Namespace, r.Scope, up, grantShare) == nil {
			return Grant{Up: up, Epoch: r.Epoch, Cover: r.Cover}, true
		}
	}
	return Grant{}, false
}

// times is q multiplied by k.
func times(q resource.Quantity, k int64) resource.Quantity {
	d := new(inf.Dec).Mul(q.AsDec(), inf.NewDec(k, 0))
	return *resource.NewDecimalQuantity(*d, q.Format)
}

// decodeGrant parses a grant's ledger value.
func decodeGrant(v string) (Grant, error) {
	up, rest, ok := strings.Cut(v, grantEpochSep)
	if !ok {
		return Grant{}, fmt.Errorf("no epoch in %q", v)
	}
	epoch, cover, ok := strings.Cut(rest, grantCoverSep)
	if !ok {
		return Grant{}, fmt.Errorf("no cover in %q", v)
	}
	list, err := ParseList(up)
	if err != nil {
		return Grant{}, err
	}
	return Grant{Up: Normalize(list), Epoch: epoch, Cover: cover}, nil
}
