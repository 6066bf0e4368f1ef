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
// EncodeLedger's output.
//
// # Reservations settled by what the API server committed
//
// No reservation is held for a time. Each is settled by a fact the API
// server establishes:
//
//   - The webhook sees the singleton's old object at its committed
//     resourceVersion r (the Reservation's Base). The API server commits a
//     status update only while the stored object is still at r: its
//     registry compares the update's resourceVersion with the stored one and
//     etcd's transaction compares the revision, and on a conflict the
//     quota admission reads the singleton again and asks the webhook again,
//     at the new version. So a reservation at base r is resolved, committed
//     or dead, as soon as any later version of that singleton exists.
//     resourceVersions are etcd revisions, compared as unsigned integers
//     (ParseRV); a singleton deleted and created again has a later one too.
//   - The ledger keeps one Entry per (namespace, scope): the larger, per
//     resource, of the old and new used of the latest admitted increase,
//     with its Base. A second admission at the same base (the API server
//     retrying, or two API servers) takes the larger of the two; an
//     admission at a later base replaces the entry, whose reservation is
//     resolved; an admission at an earlier base than the entry's cannot
//     commit (a later version exists) and is allowed without a write.
//   - Readers combine the ledger with the singletons their informer holds
//     (Effective, Pending): a key whose informer version is past the entry's
//     base counts the informer's status.used, the committed truth, and any
//     other key counts the entry. A singleton whose status the API server
//     has not filled yet settles nothing. The namespace being decided
//     counts its old used at base r, or the entry at the same base if
//     larger (Admit). Freed usage is therefore reusable as soon as the
//     informer shows the commit that freed it, and the webhook, before
//     denying on its cache, decides once more on the singletons read live.
//   - Pure decreases write nothing: any reader that has not seen one counts
//     the older, higher usage, which errs on the safe side. Every increase,
//     in contrast, is in the ledger, including a recount that raises usage
//     (Record), because a lagging informer would count the older, lower
//     usage.
//   - Entries are never pruned because one replica's informer shows them
//     settled: another replica's informer may lag, and would then count
//     the lower usage it still shows. An entry is one small line per
//     namespace; the leader drops only entries whose namespace left the
//     tree or that no quota covers (Prune), and deletes the ledgers of
//     former roots.
//   - A reservation whose status update never commits (the API server gave
//     up after the webhook admitted it) stays unsettled while its namespace
//     sees no later write. The leader settles it by writing the singleton
//     (Unsettled): after the write the old base can never commit. Time only
//     picks when the leader writes (an entry seen unsettled over a whole
//     resync), never what counts.
//
// The protocol of one admission:
//
//  1. read the ledger ConfigMap and DecodeLedger it (outside any lock);
//  2. lock the model, take a Snapshot with the informer's usage, and call
//     Admit with the informer's singleton versions;
//  3. unlock and, if Admit returned a ledger, write it with the
//     resourceVersion precondition; on a conflict start again at 1, on a
//     denial return the ExceededError's message to the API server.
//
// This is the one place where a webhook writes to the API. Decide costs
// O(depth) on a snapshot, whose subtree totals are computed once when it is
// built; Admit adds a pass over the ledger's entries. The caller reads
// everything from caches on the first attempt: quotas and singletons from
// the manager's informers (one List over all namespaces for a large tree),
// the ledger from an informer over the ledger ConfigMaps, decoded once per
// resourceVersion. A stale cached ledger only makes the write conflict;
// after a conflict every read is live, and a denial is always decided
// again on live reads, so caches can delay an admission but never decide
// a refusal. Building the snapshot is O(tree) per admission.
//
// # Escrow
//
// The ledger write is most of an admission's cost, so a namespace is given
// headroom ahead of its admissions while its tree has room to spare: a
// Grant, recorded in the ledger with the admission that earns it (Admit),
// up to 64 times that admission's growth as long as usage and every grant
// stay within a quarter of each covering limit. Admissions within the grant
// are allowed on the cached ledger with no write (Within); every other
// decision counts the grant as used (Counted). A grant is tied to an epoch,
// a random annotation of the namespace's singleton, and taken back only
// after that annotation was rewritten (Revoke), which no admission judged
// on the old epoch can outlive; a decision that would deny because of
// another namespace's unused grant revokes it first (Revocable). The
// quotas it was decided under are fingerprinted (Cover), so a changed
// limit or a move ends it at once. Grant's documentation has the argument.
//
// # Recounts
//
// kube-controller-manager's resourcequota controller rewrites status.used
// from its informer cache, which may miss an object created a moment ago; a
// recount below the truth would let the tree go over. A recount that lowers
// a name is checked against a linearizable live read (PodUsage over a live
// pod List, with kube's rules for terminal pods, deletion grace and scopes;
// a metadata-only List for object counts) and refused only when it is below
// what exists (StaleRecount). Refusing alone would keep the usage the
// recount rightly lowered (deleted pods) counted until the controller,
// backing off exponentially, recounts from a cache that has caught up,
// which under steady creation may be never; so the webhook writes in its
// place the recount with each name read live raised to the live count
// (Corrected), at the same singleton version. Services' load balancers
// and node ports (ServiceUsage) and claims' storage, in all and per
// storage class (ClaimUsage), are read live too. Names that cannot be read
// live are trusted, as a plain ResourceQuota trusts them: non-pod names
// under a scope, and objects the manager may not list (secrets).
// One window is left, as in a plain ResourceQuota: a pod the quota
// admission charged but the API server has not stored yet is in neither
// the controller's cache nor the live List.
//
// The controller can also miss a recount altogether: it recounts when a pod
// goes, but reads the singleton from its informer, and when that informer
// has not yet shown the admission just before, it finds nothing to write
// and waits for its full resync (five minutes by default). The leader
// watches pods go and lowers such a singleton itself, by exactly what it
// still charges, decided from resourceVersions alone (Replenished): those
// of the pod's going and of the singleton's last write that may have left
// it out, which the leader knows by following every write of the
// singletons, since the quota admission's writes only add (OnlyAdded). The
// write is a recount, checked like the controller's.
//
// Validation of HierarchicalQuota objects at admission is
// ValidateHierarchicalQuota: the sum of allocations fits hard, and a child
// quota fits its allocation and every ancestor's hard.
package quota
