// Package anchor is the SubnamespaceAnchor reconciler: it creates the
// subnamespace an anchor names, reports the anchor's state and deletes the
// subnamespace when the anchor is deleted.
//
// Reconcile reads the anchor and the namespace it names, takes the facts it
// needs from the forest under its lock (exclusions, whether the
// subnamespace has children and whether cascading deletion is allowed),
// and hands them to Decide, a pure function that returns the state to
// report and the one action to take. It then writes: the anchor (finalizer
// hnc.x-k8s.io and status.status, with one plain Update since HNC's CRDs
// have no status subresource), or the subnamespace (create or delete).
//
// The finalizer is added first and removed last: a deleted anchor keeps it
// until its subnamespace is gone (or is not the anchor's to delete). The
// reconciler watches Namespaces and maps each subnamespace to its anchor
// through the hnc.x-k8s.io/subnamespace-of annotation, so namespace
// creation and deletion wake it without timed requeues.
package anchor
