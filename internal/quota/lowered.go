package quota

// Lowering marks: refusing on cached singletons.
//
// A refusal may not be given on an informer's singletons alone: the
// informer may not show yet a committed recount that lowered usage
// (deleted pods), and the creation would be refused although it fits. Reading
// every singleton of the tree live for each refusal is what kept the API
// server's quota admission busy under a stream of creations against a full
// tree: it retries a refused status update three times, so each refused
// creation cost four webhook calls, each with a live List of the singletons
// and a snapshot rebuilt from it.
//
// So the status webhook, before it allows a recount that lowers a
// singleton's usage, records in the ledger the recount's base, the
// singleton's resourceVersion it saw as the old object (RecordLowered). A
// refusal then reads only the ledger live: if the informer shows, for every
// marked key, a version of the singleton past its mark (SeenLowered), it
// shows every lowering that committed before the ledger was read, and the
// refusal on the informer's singletons holds. The reasoning:
//
//   - the mark is written before the recount is allowed, so before it can
//     commit: every lowering committed before the live read of the ledger
//     has its mark in it (marks only grow per key);
//   - the API server commits a status update only over the version it saw
//     as the old object, so a lowering from base b commits as version b+1
//     of the etcd order on that singleton, the first version after b: an
//     informer showing any version after the mark shows that commit or a
//     later state;
//   - lowerings that commit after the ledger was read are concurrent with
//     the refused creation, which may be ordered before them.
//
// A mark whose recount never committed is past only once the singleton
// changes again; until then refusals in its tree read live, as before.

// RecordLowered returns the ledger with the lowering of k's singleton from
// version base marked, or nil when a mark at or past base is already held.
// The input ledger is not modified.
func RecordLowered(l *Ledger, k Key, base uint64) *Ledger {
	if m, ok := l.Lowered[k]; ok && m >= base {
		return nil
	}
	out := l.clone()
	if out.Lowered == nil {
		out.Lowered = map[Key]uint64{}
	}
	out.Lowered[k] = base
	return out
}

// SeenLowered reports whether versions, an informer's singleton versions,
// are past every lowering mark of the ledger, so that they show every
// lowering the ledger marks.
func SeenLowered(l *Ledger, versions Versions) bool {
	for k, m := range l.Lowered {
		if rv, ok := versions[k]; !Settled(m, rv, ok) {
			return false
		}
	}
	return true
}
