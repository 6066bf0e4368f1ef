// Package hierarchy is the hierarchy reconciler: per namespace, it writes
// what the forest decides.
//
// Each Reconcile works in three steps. It reads the Namespace and its
// HierarchyConfiguration; it locks the forest, refreshes the namespace's
// local conditions and takes a Model (tree labels, managed metadata,
// children, conditions, whether it is in a tree and holds anchors); then it
// unlocks and writes, through the pure functions in decide.go, only what
// differs: the Namespace's labels and annotations with one Update, and the
// HierarchyConfiguration (spec.parent of a subnamespace, status and the
// hnc.x-k8s.io/hasSubnamespace finalizer) with one plain Update, since HNC's
// CRDs have no status subresource.
//
// The reconciler runs on the leader only. The forest itself is filled on
// every replica by internal/forestsync, whose Source enqueues every
// namespace whose derived state may have changed (including every
// namespace once the forest has loaded, which is how objects created while
// the manager was stopped are adopted). When a reconcile changes a
// namespace's conditions, it notifies the forestsync subscribers of the
// subtree, whose tree labels and halted state follow from them.
package hierarchy
