package quota

import (
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Ledger data keys. Namespace names cannot hold '_' or '.', so neither kind
// of key can collide with a namespace's entry.
const (
	ledgerRootKey     = "_root"
	ledgerScopePrefix = "_scope."
	reservedAtSep     = ";reservedAt="
)

// Ledger is the shared record of usage for one tree, the basis of every
// admission by every replica. It is stored as the data of one ConfigMap per
// tree (EncodeLedger) and updated only with compare-and-swap.
type Ledger struct {
	// Root is the tree's root namespace, which keys the ledger.
	Root string
	// Entries is the usage per namespace and scope key.
	Entries map[Key]Entry
}

// Entry is the recorded usage of one namespace under one scope key.
type Entry struct {
	// Used is normalised usage.
	Used corev1.ResourceList
	// ReservedAt is when an admission last set Used; zero once the leader has
	// matched it with the actual usage.
	ReservedAt time.Time
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
	return out
}

// EncodeLedger renders a ledger as ConfigMap data:
//
//	_root: <root namespace>
//	<namespace>: pods=3,requests.cpu=2                unscoped usage
//	<namespace>.<scope id>: pods=1;reservedAt=<RFC3339> scoped, reserved
//	_scope.<scope id>: PriorityClass In (high)        the scope key of an id
//
// where a scope id is ScopeID of the key.
func EncodeLedger(l *Ledger) map[string]string {
	out := map[string]string{ledgerRootKey: l.Root}
	for k, e := range l.Entries {
		key := k.Namespace
		if k.Scope != "" {
			id := ScopeID(k.Scope)
			key += "." + id
			out[ledgerScopePrefix+id] = k.Scope
		}
		val := String(e.Used)
		if !e.ReservedAt.IsZero() {
			val += reservedAtSep + e.ReservedAt.UTC().Format(time.RFC3339Nano)
		}
		out[key] = val
	}
	return out
}

// DecodeLedger parses EncodeLedger's output.
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
		if strings.HasPrefix(k, "_") {
			continue
		}
		ns, id, scoped := strings.Cut(k, ".")
		key := Key{Namespace: ns}
		if scoped {
			scope, ok := scopes[id]
			if !ok {
				return nil, fmt.Errorf("decoding ledger key %q: unknown scope id %q", k, id)
			}
			key.Scope = scope
		}
		used, at, hasAt := strings.Cut(v, reservedAtSep)
		list, err := ParseList(used)
		if err != nil {
			return nil, fmt.Errorf("decoding ledger key %q: %w", k, err)
		}
		e := Entry{Used: Normalize(list)}
		if hasAt {
			if e.ReservedAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
				return nil, fmt.Errorf("decoding reservation time of ledger key %q: %w", k, err)
			}
		}
		l.Entries[key] = e
	}
	return l, nil
}

// Admit decides whether ns may change its usage under scopeKey to newUsed,
// with the ledger's usage for every (namespace, scope) it records and the
// snapshot's usage for the rest, and returns the ledger with the new usage
// of ns reserved at now. The input ledger is not modified. On a denial the
// error is the *ExceededError from Decide and no ledger is returned.
//
// The caller writes the returned ledger with the resourceVersion it read it
// at, and on a conflict reads it again and calls Admit again.
func Admit(l *Ledger, s *Snapshot, ns, scopeKey string, newUsed corev1.ResourceList, now time.Time) (*Ledger, error) {
	over := Usage{}
	for k, e := range l.Entries {
		if !Equal(e.Used, s.usage[k]) {
			over[k] = e.Used
		}
	}
	if err := Decide(s.patched(over), ns, scopeKey, newUsed); err != nil {
		return nil, err
	}
	out := l.clone()
	out.Entries[Key{Namespace: ns, Scope: scopeKey}] = Entry{Used: Normalize(newUsed), ReservedAt: now}
	return out, nil
}

// Reconcile brings the ledger to the actual usage the ResourceQuota
// singletons report, and says whether anything changed, so the leader writes
// only then. An entry that differs from the actual usage but was reserved less
// than grace ago is still in flight: it keeps the larger of the two per
// resource. Any other entry becomes the actual usage, which shrinks
// reservations that never became real and takes in growth the webhook did not
// see; entries with no actual usage are dropped once their grace has passed.
func Reconcile(l *Ledger, actual Usage, now time.Time, grace time.Duration) (*Ledger, bool) {
	out := &Ledger{Root: l.Root, Entries: make(map[Key]Entry, len(actual))}
	changed := false
	for k, e := range l.Entries {
		inFlight := !e.ReservedAt.IsZero() && now.Sub(e.ReservedAt) < grace
		a, ok := actual[k]
		switch {
		case ok && Equal(e.Used, Normalize(a)):
			out.Entries[k] = Entry{Used: e.Used.DeepCopy()}
			changed = changed || !e.ReservedAt.IsZero()
		case inFlight:
			used := e.Used.DeepCopy()
			if ok {
				used = Max(used, Normalize(a))
			}
			out.Entries[k] = Entry{Used: used, ReservedAt: e.ReservedAt}
			changed = changed || !Equal(used, e.Used)
		case ok:
			out.Entries[k] = Entry{Used: Normalize(a)}
			changed = true
		default:
			changed = true
		}
	}
	for k, a := range actual {
		if _, ok := l.Entries[k]; !ok {
			out.Entries[k] = Entry{Used: Normalize(a)}
			changed = true
		}
	}
	return out, changed
}
