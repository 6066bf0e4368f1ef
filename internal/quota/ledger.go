package quota

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Ledger data keys. Namespace names cannot hold '_' or '.', so neither kind
// of key can collide with a namespace's entry.
const (
	ledgerRootKey     = "_root"
	ledgerScopePrefix = "_scope."
	// ledgerLoweredPrefix keys a lowering mark (Ledger.Lowered) by the
	// entry key it marks: _lowered.<namespace>[.<scope id>].
	ledgerLoweredPrefix = "_lowered."
	// ledgerGrantPrefix keys a grant (Ledger.Grants) by the entry key it
	// belongs to: _grant.<namespace>[.<scope id>].
	ledgerGrantPrefix = "_grant."
	grantEpochSep     = ";epoch="
	grantCoverSep     = ";cover="
	baseSep           = ";base="
	// legacyReservedAtSep marks entries written before reservations were
	// settled by resourceVersion; their time is ignored (see DecodeLedger).
	legacyReservedAtSep = ";reservedAt="
)

// Ledger is the shared record of admitted reservations for one tree, the
// basis of every admission by every replica. It is stored as the data of one
// ConfigMap per tree (EncodeLedger) and updated only with compare-and-swap.
type Ledger struct {
	// Root is the tree's root namespace, which keys the ledger.
	Root string
	// Entries is the latest reservation per namespace and scope key.
	Entries map[Key]Entry
	// Lowered is, per key, the base resourceVersion of the latest recount
	// that lowered its singleton's usage, recorded before the recount was
	// allowed (RecordLowered, SeenLowered).
	Lowered map[Key]uint64
	// Grants is the headroom escrowed per key (see Grant).
	Grants map[Key]Grant
	// Holds is the usage of moves judged into the tree, by Hold.Key.
	Holds map[string]Hold
}

// Entry is the latest reservation of one namespace under one scope key.
type Entry struct {
	// Used is normalised usage: at least the committed usage at Base, and
	// at least every usage admitted at Base.
	Used corev1.ResourceList
	// Base is the resourceVersion of the singleton the admissions saw as
	// their old object. The API server commits a status update only while
	// the singleton is still at that version, so once any later version
	// exists the reservation is resolved: committed, or dead.
	Base uint64
}

// Observed is what one replica's informer shows of a singleton: its
// committed status.used and its resourceVersion.
type Observed struct {
	Used corev1.ResourceList
	RV   uint64
}

// Versions gives the resourceVersion of each singleton an informer holds.
type Versions map[Key]uint64

// Settled reports whether a reservation at base is resolved by the
// singleton version an informer shows (ok false when it shows none).
func Settled(base, observed uint64, ok bool) bool {
	return ok && observed > base
}

// ParseRV reads a resourceVersion as the etcd revision it is. The API
// server's resourceVersions are decimal revisions; anything else reads as
// 0, the oldest, which settles nothing and so is safe.
func ParseRV(rv string) uint64 {
	n, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Usage returns the ledger's usage.
func (l *Ledger) Usage() Usage {
	out := make(Usage, len(l.Entries))
	for k, e := range l.Entries {
		out[k] = e.Used.DeepCopy()
	}
	return out
}

// clone copies the entry map; the lists in entries are never modified in
// place, so they are shared.
func (l *Ledger) clone() *Ledger {
	out := &Ledger{Root: l.Root, Entries: make(map[Key]Entry, len(l.Entries)+1)}
	maps.Copy(out.Entries, l.Entries)
	if l.Lowered != nil {
		out.Lowered = maps.Clone(l.Lowered)
	}
	out.Grants = make(map[Key]Grant, len(l.Grants)+1)
	maps.Copy(out.Grants, l.Grants)
	out.Holds = make(map[string]Hold, len(l.Holds)+1)
	maps.Copy(out.Holds, l.Holds)
	return out
}

// EncodeLedger renders a ledger as ConfigMap data:
//
//	_root: <root namespace>
//	<namespace>: pods=3,requests.cpu=2;base=812     unscoped, reserved at RV 812
//	<namespace>.<scope id>: pods=1;base=815         scoped
//	_scope.<scope id>: PriorityClass In (high)      the scope key of an id
//	_lowered.<namespace>[.<scope id>]: 820          a lowering recount's base
//	_grant.<namespace>[.<scope id>]: pods=20;epoch=<e>;cover=<c>   a grant
//	_hold.<namespace>: {"parent":...}                 a move's hold (JSON)
//
// where a scope id is ScopeID of the key.
func EncodeLedger(l *Ledger) map[string]string {
	out := map[string]string{ledgerRootKey: l.Root}
	for k, e := range l.Entries {
		out[encodeKey(out, k)] = String(e.Used) + baseSep + strconv.FormatUint(e.Base, 10)
	}
	for k, base := range l.Lowered {
		out[ledgerLoweredPrefix+encodeKey(out, k)] = strconv.FormatUint(base, 10)
	}
	for k, g := range l.Grants {
		out[ledgerGrantPrefix+encodeKey(out, k)] = String(g.Up) + grantEpochSep + g.Epoch + grantCoverSep + g.Cover
	}
	encodeHolds(out, l.Holds)
	return out
}

// encodeKey is k's data key, registering its scope id in out.
func encodeKey(out map[string]string, k Key) string {
	if k.Scope == "" {
		return k.Namespace
	}
	id := ScopeID(k.Scope)
	out[ledgerScopePrefix+id] = k.Scope
	return k.Namespace + "." + id
}

// decodeKey is encodeKey's inverse.
func decodeKey(k string, scopes map[string]string) (Key, error) {
	ns, id, scoped := strings.Cut(k, ".")
	key := Key{Namespace: ns}
	if scoped {
		scope, ok := scopes[id]
		if !ok {
			return key, fmt.Errorf("decoding ledger key %q: unknown scope id %q", k, id)
		}
		key.Scope = scope
	}
	return key, nil
}

// DecodeLedger parses EncodeLedger's output. An entry without a base (one
// written by a release that settled reservations by time) has base 0, so
// any version of its singleton settles it.
func DecodeLedger(data map[string]string) (*Ledger, error) {
	l := &Ledger{Root: data[ledgerRootKey], Entries: map[Key]Entry{}}
	scopes := map[string]string{}
	for k, v := range data {
		if id, ok := strings.CutPrefix(k, ledgerScopePrefix); ok {
			if ScopeID(v) != id {
				return nil, fmt.Errorf("decoding ledger key %q: scope %q does not match its id", k, v)
			}
			scopes[id] = v
		}
	}
	for k, v := range data {
		if marked, ok := strings.CutPrefix(k, ledgerLoweredPrefix); ok {
			key, err := decodeKey(marked, scopes)
			if err != nil {
				return nil, err
			}
			base, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("decoding lowering mark %q: %w", k, err)
			}
			if l.Lowered == nil {
				l.Lowered = map[Key]uint64{}
			}
			l.Lowered[key] = base
			continue
		}
		if granted, ok := strings.CutPrefix(k, ledgerGrantPrefix); ok {
			key, err := decodeKey(granted, scopes)
			if err != nil {
				return nil, err
			}
			g, err := decodeGrant(v)
			if err != nil {
				return nil, fmt.Errorf("decoding grant %q: %w", k, err)
			}
			if l.Grants == nil {
				l.Grants = map[Key]Grant{}
			}
			l.Grants[key] = g
			continue
		}
		if strings.HasPrefix(k, ledgerHoldPrefix) {
			h, err := decodeHold(k, v)
			if err != nil {
				return nil, err
			}
			if l.Holds == nil {
				l.Holds = map[string]Hold{}
			}
			l.Holds[h.Key()] = h
			continue
		}
		if strings.HasPrefix(k, "_") {
			continue
		}
		key, err := decodeKey(k, scopes)
		if err != nil {
			return nil, err
		}
		used, base, hasBase := strings.Cut(v, baseSep)
		used, _, _ = strings.Cut(used, legacyReservedAtSep)
		list, err := ParseList(used)
		if err != nil {
			return nil, fmt.Errorf("decoding ledger key %q: %w", k, err)
		}
		e := Entry{Used: Normalize(list)}
		if hasBase {
			if e.Base, err = strconv.ParseUint(base, 10, 64); err != nil {
				return nil, fmt.Errorf("decoding base resourceVersion of ledger key %q: %w", k, err)
			}
		}
		l.Entries[key] = e
	}
	return l, nil
}

// Reservation is one admission request: the API server's quota admission
// updating a singleton's status.used from Old (committed at resourceVersion
// Base) to New.
type Reservation struct {
	Namespace, Scope string
	Base             uint64
	Old, New         corev1.ResourceList
	// Epoch is the singleton's epoch annotation at Base and Cover the
	// current Cover of its namespace and scope; both say whether a grant is
	// alive and may be used (see Grant). An empty Epoch gets no grant.
	Epoch, Cover string
}

// Pending returns the usage the ledger holds for keys whose reservation the
// versions do not show settled, where it differs from the snapshot's: what a
// reader must use instead of the informer's committed usage. The key skip
// is left out.
func Pending(l *Ledger, s *Snapshot, versions Versions, skip Key) Usage {
	over := Usage{}
	for k, e := range l.Entries {
		if k == skip {
			continue
		}
		if rv, ok := versions[k]; Settled(e.Base, rv, ok) {
			continue
		}
		if !Equal(e.Used, s.usage[k]) {
			over[k] = e.Used
		}
	}
	return over
}

// Effective is the usage readers decide with: per key, the informer's
// committed usage (the snapshot's) when its singleton's version is past the
// ledger entry's base, and the entry otherwise.
func Effective(l *Ledger, s *Snapshot, versions Versions) *Snapshot {
	return s.patched(Pending(l, s, versions, Key{}))
}

// Admit decides a reservation. The snapshot holds the informer's committed
// usage and versions its singletons' resourceVersions; the ledger's
// unsettled entries override it (Effective). The namespace being decided
// counts at its committed usage at Base, or the ledger's reservation at the
// same Base if larger, and may grow to New.
//
// It returns the ledger to write, or nil when nothing needs writing: the
// reservation is already held at this base, or the request is stale (its
// base is older than the entry's, so a later version of the singleton exists
// and the API server cannot commit it). The input ledger is not modified.
// On a denial the error is the *ExceededError from Decide.
//
// The caller writes the returned ledger with the resourceVersion it read it
// at, and on a conflict reads it again and calls Admit again.
//
// Every other key's grant counts at least at its Up (Counted). The key's
// own grant, if alive (issued at r's Epoch) and decided under r's Cover,
// counts too: growth within it is allowed, beyond it is judged from it.
// The ledger returned gives the key a new grant when one fits (grantFor),
// keeps an alive one otherwise, and drops a dead one.
func Admit(l *Ledger, s *Snapshot, versions Versions, r Reservation) (*Ledger, error) {
	key, cur, next, stale := r.resolve(l)
	if stale || !Grows(cur, next) {
		return nil, nil
	}
	over := Counted(l, s, versions, key)
	var alive *Grant
	if g, ok := l.Grants[key]; ok && r.Epoch != "" && g.Epoch == r.Epoch {
		alive = &g
	}
	over[key] = cur
	if alive != nil && alive.Cover == r.Cover {
		over[key] = Max(cur, alive.Up)
	}
	if err := Decide(s.patched(over), r.Namespace, r.Scope, next); err != nil {
		return nil, err
	}
	out := r.record(l, key, next)
	over[key] = cur
	if g, ok := grantFor(s.patched(over), r, cur, next, alive); ok {
		out.Grants[key] = g
	} else if alive == nil {
		delete(out.Grants, key)
	}
	return out, nil
}

// Record notes growth that is not judged, a recount by kube-controller-
// manager that raises usage (objects it found that admission did not
// charge), so that a replica whose informer still shows the singleton's
// older, lower usage counts the higher one. It returns nil when nothing
// needs writing, as Admit does.
func Record(l *Ledger, r Reservation) *Ledger {
	key, cur, next, stale := r.resolve(l)
	if stale || !Grows(cur, next) {
		return nil
	}
	return r.record(l, key, next)
}

// resolve returns the entry key, the namespace's usage before the
// reservation (the committed usage at Base, or the ledger's reservation at
// the same Base if larger) and after it (the larger of that and New, per
// resource), and whether the request is stale.
func (r Reservation) resolve(l *Ledger) (key Key, cur, next corev1.ResourceList, stale bool) {
	key = Key{Namespace: r.Namespace, Scope: r.Scope}
	e, has := l.Entries[key]
	if has && r.Base < e.Base {
		return key, nil, nil, true
	}
	cur = Normalize(r.Old)
	if has && e.Base == r.Base {
		cur = Max(cur, e.Used)
	}
	return key, cur, Max(cur, Normalize(r.New)), false
}

func (r Reservation) record(l *Ledger, key Key, next corev1.ResourceList) *Ledger {
	out := l.clone()
	out.Entries[key] = Entry{Used: next, Base: r.Base}
	return out
}

// Grows reports whether some resource of next is above its value in cur
// (missing counts as zero).
func Grows(cur, next corev1.ResourceList) bool {
	for n, q := range next {
		if q.Cmp(cur[n]) > 0 {
			return true
		}
	}
	return false
}

// Prune drops the entries the tree no longer needs and says whether any
// was dropped: those of namespaces that left the tree (keep reports false)
// and those of keys no quota covers any more. It never drops an entry
// because some informer shows it settled: another replica's informer may
// lag, and without the entry it would count the older, lower usage.
func Prune(l *Ledger, keep func(Key) bool) (*Ledger, bool) {
	out := &Ledger{Root: l.Root, Entries: make(map[Key]Entry, len(l.Entries))}
	for k, e := range l.Entries {
		if keep(k) {
			out.Entries[k] = e
		}
	}
	for k, base := range l.Lowered {
		if keep(k) {
			if out.Lowered == nil {
				out.Lowered = map[Key]uint64{}
			}
			out.Lowered[k] = base
		}
	}
	for k, g := range l.Grants {
		if keep(k) {
			if out.Grants == nil {
				out.Grants = map[Key]Grant{}
			}
			out.Grants[k] = g
		}
	}
	// Holds are the moves' own, dropped by the leader (StepHold).
	out.Holds = l.Holds
	return out, len(out.Entries) != len(l.Entries) || len(out.Lowered) != len(l.Lowered) || len(out.Grants) != len(l.Grants)
}

// Unsettled lists the keys whose reservation the versions do not show
// settled. The leader settles such a reservation by writing its singleton
// (any write makes a later version exist), so a reservation whose status
// update never committed and whose namespace sees no further admissions
// stops counting.
func Unsettled(l *Ledger, versions Versions) []Key {
	var out []Key
	for k, e := range l.Entries {
		if rv, ok := versions[k]; ok && !Settled(e.Base, rv, ok) {
			out = append(out, k)
		}
	}
	return out
}
