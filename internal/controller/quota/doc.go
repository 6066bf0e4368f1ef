// Package quota is the leader's side of hierarchical quota enforcement: it
// keeps the ResourceQuota singletons, the per-tree reservation ledgers and the
// status of every HierarchicalResourceQuota (HNC) and HierarchicalQuota
// (Canopy). The decisions are internal/quota's; this package reads, decides
// and writes.
//
// # One reconcile per tree
//
// A request names a namespace; Reconcile resolves the root of its tree in
// the shared forest and works on the whole tree at once, because every fact
// it writes depends on the tree: the singletons of each namespace name the
// strictest hard of every quota above it, the ledger is one object per tree,
// and a quota's used is a subtree sum. Each reconcile follows the forest's
// discipline:
//
//  1. read: lock the forest only to copy the tree (TreeOf), then read the
//     quotas, the singletons and the ledger from the cache and the API;
//  2. decide with pure functions (DesiredSingletons, the status builders,
//     quota.Prune and quota.Unsettled for the ledger);
//  3. write only what changed: singletons, the ledger with its
//     resourceVersion precondition, and each quota's status.
//
// Namespaces that moved away are handled by the reconcile of their new tree
// (which removes singletons no quota requires any more); the old tree's
// ledger keeps a stale entry until its next reconcile drops it, which is
// harmless because admission counts only namespaces in the current tree.
// A singleton whose status alone changed (new usage, on every admission)
// requeues its tree after StatusBatch, not at once, so that a busy tree is
// reconciled about once a second rather than once per pod; admission never
// waits for the reconciler. A tree that holds a clamp is the exception: it
// is reconciled at once, since new usage may leave the clamp refusing what
// fits (see AnnotationClampedAt). The quotas' status.used does not wait for
// that batch either: a second controller, quota-status (refresh.go),
// rewrites only the quotas' status at once on a quiet tree without a
// clamp, then at most once a second, and never writes a singleton or the
// ledger. Every tree with a quota is requeued periodically, so that a reservation
// whose status update never committed is settled by a write to its
// singleton (see internal/quota's package doc).
//
// # Who writes what
//
// Only the elected leader runs this reconciler. The singletons' status.used
// belongs to the API server's quota admission and kube-controller-manager;
// Canopy writes status.used only to correct a stale recount (the status
// webhook). status.hard follows spec.hard: Canopy writes it before spec.hard
// whenever it changes hard (WriteHard; the webhook's clamps and this
// reconciler's updates), so kube-controller-manager, which copies spec.hard
// into status.hard, does not write the singleton again. Every write of a
// singleton outside the quota admission can make admissions in flight in
// its namespace conflict, so the reconciler writes one only when it changes
// a decision (see KeepClamps).
// The ledger's data is written by the admission webhook (reservations, on
// every replica) and by this reconciler (pruning entries), both
// with compare-and-swap, so neither loses the other's update. HRQ status is
// written with a plain Update (HNC's CRDs have no status subresource);
// HierarchicalQuota status through its status subresource; both only when
// changed.
package quota
