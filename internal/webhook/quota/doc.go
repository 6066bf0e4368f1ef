// Package quota holds the admission webhooks of hierarchical quota. Each is
// a thin Handle around a pure decision.
//
//   - The status webhook sees every update of a quota singleton's
//     status.used made by the API server's own quota admission, and decides
//     with the per-tree ledger whether the namespace may grow. It is the one
//     webhook in Canopy that writes to the API: it reserves the new usage in
//     the ledger with compare-and-swap, so that two replicas deciding at once
//     for two namespaces of one tree can never both spend the same headroom
//     (see internal/quota's package doc for the protocol).
//   - The same webhook refuses a recount by kube-controller-manager that
//     lowers a namespace's usage below what a live read shows exists: that
//     controller counts from its cache, and a stale count would let the API
//     server admit on top of it. A true recount is allowed at once. In place
//     of a refused stale recount the webhook writes the recount corrected
//     to the live count (a second write, with the singleton's
//     resourceVersion as precondition), so usage that really went down is
//     released without waiting for the controller's backoff.
//   - The singleton webhook stops users from editing or deleting the
//     singletons.
//   - The validating webhooks check HierarchicalQuota (delegated budgets,
//     ancestors' limits) and HierarchicalResourceQuota (HNC's rules only).
//
// # Failure policy and blast radius
//
// The status webhook fails closed, and is selected on two labels: the
// object must be a Canopy singleton (canopy.dev/quota-singleton) in a
// namespace of a Canopy tree (canopy.dev/in-tree). If the manager is down,
// the API server cannot record new usage in those namespaces, so creating
// pods (or anything else a quota there counts) fails: enforcement fails
// safe. Namespaces outside Canopy's trees, and namespaces in trees with no
// quota (which have no singleton), are never affected; deletions still work
// everywhere, because lowering usage is recorded by kube-controller-manager
// outside admission, which this webhook allows. A namespace that is the
// root of a quota but has no children is not labelled in-tree; there the
// singleton's hard equals the quota's hard, so the API server alone enforces
// it exactly.
//
// # Batches
//
// The API server judges concurrent creations in one namespace as one status
// update. Items beyond the singleton's own hard (the strictest hard above
// the namespace) are refused one by one, exactly; but a batch that fits the
// namespace and not the subtree could only be refused whole, because a
// webhook can only allow or deny the update, and the quota would under-fill.
// So before denying such a batch (seen as growth of more than one in an
// object count such as pods; a quota on cpu alone gives no such sign) while
// the tree still has some room, the status webhook clamps the namespace's
// singleton: it lowers hard to the namespace's usage plus the room the tree
// has left (internal/controller/quota.ClampHard), holds the room it leaves for the
// batch in the ledger (so that another namespace cannot take it before the
// retry, which would be denied and clamped again, each clamp costing the
// batch one of its attempts), waits briefly for the API server's quota
// informer to see it, and denies. The API server retries the
// batch at once against the lowered hard and itself admits exactly the items
// that fit; the items it refuses get the API server's own message, which
// names the singleton rather than the quota. When nothing fits, or for a
// single object, there is no clamp and the denial names the quota. This
// second write is part of the same admission decision. The clamp sets
// status.hard, which the API server's quota admission reads, before
// spec.hard (internal/controller/quota.WriteHard), so that
// kube-controller-manager, which resyncs a quota whose spec.hard changed,
// finds no hard to copy and does not write the singleton while the batch is
// retried: every write of a singleton by anyone but the quota admission
// makes an admission in flight there conflict, and the API server retries a
// conflict only three times before refusing the creation with "the object
// has been modified". For the same reason only a batch's first denial is
// clamped: the API server sends a denied batch again at once, up to three
// times, and a clamp made in its last attempt would only turn that
// attempt's denial into such a conflict (see deniedBatches; the replicas
// share which batches they denied, since each attempt may reach either). A clamp is
// kept as long as it refuses nothing that fits
// (internal/controller/quota.KeepClamps). Once deletions free room, this
// webhook lifts it before it allows the recount that frees the room
// (unclamp), so no reader sees room a clamp still refuses.  A
// corrected stale recount is such a write too, and waits until this
// replica has judged no admission of the namespace for a short while
// (internal/controller/quota.Admissions). The
// race tests (200 pods against 100 over subtrees of 1, 2 and 10 namespaces,
// 1,000 over 50, each after probe pods were admitted and deleted, with one
// manager, two replicas, a replica stopped midway) admit exactly 100, and
// a refill after 20 deletions admits exactly 20.
package quota
