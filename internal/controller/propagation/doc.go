// Package propagation copies source objects from a namespace into its
// descendants, as HNC does, for Roles and RoleBindings (always) and every
// type HNCConfiguration configures.
//
// # Shape
//
// One Propagator runs on every replica (it does not need leader election).
// It watches the HNCConfiguration singleton and keeps one typeSyncer per
// propagated type, started and stopped as the configuration changes. Each
// typeSyncer registers a handler on the manager cache's unstructured
// informer for its type. On every replica the handler records source
// objects (those without hnc.x-k8s.io/inherited-from) in the shared forest,
// so the webhooks of every replica can detect conflicts. The handler also
// enqueues work; only the leader drains the queues.
//
// # Work items and cost
//
// A work item is one (namespace, name) pair of one type: "make this name in
// this namespace right". The worker reads the object from the cache, locks
// the forest to collect the candidate sources from the ancestors and the
// destination's labels, decides with the pure Decide function, unlocks and
// performs at most one write. A source change enqueues only its own
// namespace and its descendants; a namespace whose ancestry, labels or
// halted state change (forestsync's notifications: a move notifies the
// moved subtree and the old and new parents) enqueues a namespace item that
// expands to the names it inherits plus the copies it holds. Nothing walks the whole
// forest except the one resync when a type starts. Writes run in parallel,
// bounded by Options.Workers across all types; the client's QPS bounds the
// rate (setup.Options QPS and Burst).
//
// # Safety
//
// Workers start only after the forest has loaded (Options.ForestReady), so
// a copy is never deleted because its source's namespace is not known yet.
// A descendant's own object with a source's name is a conflict: it is never
// overwritten, and the source gets a CannotPropagateObject event. Halted
// namespaces (forest HaltedRoot) are left alone entirely.
//
// A RoleBinding names its Role by name only, in its own namespace, and the
// manager holds bind and escalate: a copy could grant whatever Role of that
// name a descendant holds. So a RoleBinding whose roleRef is a Role is not
// copied into (and its copy is removed from) a namespace holding a Role of
// that name that is not the propagated copy of the source namespace's own;
// the namespace's HierarchyConfiguration gets a BadConfiguration condition
// with reason RoleConflict naming the bindings held back. Every Role event
// re-checks the RoleBindings of its namespace. Where no Role of that name
// exists the copy is made, as HNC does: it binds nothing.
package propagation
