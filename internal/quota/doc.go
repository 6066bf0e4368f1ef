// Package quota is Canopy's pure hierarchical quota engine. It decides, from
// plain inputs, whether a namespace may grow its usage without breaking any
// quota that covers it, and it keeps the per-tree reservation ledger that
// makes that decision hold across manager replicas. It imports no Kubernetes
// client: callers read from the API, build a Snapshot, decide here, and write.
//
// # Model
//
// Two kinds are enforced by one engine. HNC's HierarchicalResourceQuota has
// only spec.hard; Canopy's HierarchicalQuota adds delegated allocations and a
// scope selector. Both become a Quota. A Quota on namespace P limits the sum
// of usage over P and every descendant of P. Usage is kept per Key, that is
// per (namespace, scope key): the unscoped key "" is what unscoped quotas
// count, and a scoped quota counts only usage recorded under its own scope key
// (see ScopeKey). Every quota on a namespace and on all of its ancestors with
// the same scope key applies, so the strictest one wins.
//
// Resource names are those of ResourceQuota. The bare names cpu, memory and
// ephemeral-storage mean requests.cpu, requests.memory and
// requests.ephemeral-storage, as in ResourceQuota: usage is normalised to the
// requests.* name (Normalize) and a quota naming either form is compared with
// the same usage, while messages and status keep the name the quota used.
//
// # Allocations
//
// A HierarchicalQuota may delegate parts of its hard limit to named descendant
// subtrees: with hard {cpu: 40} and allocations {api: {cpu: 20}, batch:
// {cpu: 10}}, the subtree rooted at api may never use more than 20, batch
// more than 10, and the quota's own namespace with all other descendants share
// the remaining 10. Allocations are per resource: a subtree shares the
// remainder for every resource its allocation does not name. Every allocation
// is reserved out of hard even before its namespace exists, and an allocation
// key may name a namespace that does not exist yet; it takes effect when the
// subtree appears below the quota's namespace. If allocations are nested (one
// key below another), each still caps its own subtree, and the remainder
// excludes only the outermost allocated subtrees.
//
// # Decisions
//
// Decide compares a namespace's proposed new total usage with the snapshot.
// Only resources whose usage grows are checked, so a decrease is always
// admitted, and a quota whose hard was lowered below its usage (OverLimit)
// admits no further increase of the resources it is over until usage fits.
// The API server may batch several creations in one namespace into one
// ResourceQuota status update, so Decide judges the new total, never the
// individual objects: a batch is denied only if its total does not fit.
//
// # Enforcement across replicas
//
// The controllers write a ResourceQuota singleton in every namespace under a
// quota: SingletonName("") is hrq.hnc.x-k8s.io for the unscoped set, and one
// per scope key for scoped HierarchicalQuotas, with hard from SingletonHard
// so that it names every resource some covering quota limits. The API
// server's own quota admission then maintains status.used per namespace. A
// validating webhook on resourcequotas/status sees the old and new used of one
// namespace. Because two manager replicas may serve that webhook at once, the
// decision is reserved with compare-and-swap on one shared ledger object per
// tree, a ConfigMap keyed by the tree's root namespace whose data is
// EncodeLedger's output:
//
//  1. read the ledger ConfigMap and DecodeLedger it (outside any lock);
//  2. lock the model, take a Snapshot, and call Admit, which decides with the
//     ledger's usage for the other namespaces and the new usage for this one;
//  3. unlock and write the updated ledger with the resourceVersion
//     precondition; on a conflict start again at 1, on a denial return the
//     ExceededError's message to the API server.
//
// This is the one place where a webhook writes to the API. Decide costs
// O(depth) on a snapshot, whose subtree totals are computed once when it is
// built; Admit adds a pass over the ledger's entries. The leader
// periodically Reconciles the ledger with the actual ResourceQuota usage:
// reservations that never became real (the status update failed after the
// webhook admitted it) shrink back once they are older than a grace period,
// and usage that grew without the webhook (it was unavailable) is taken in.
// The grace period should exceed the API server's request timeout, so that a
// reservation whose status update is still in flight is never shrunk.
//
// Validation of HierarchicalQuota objects at admission is
// ValidateHierarchicalQuota: the sum of allocations fits hard, and a child
// quota fits its allocation and every ancestor's hard.
package quota
