// Package forestsync keeps the shared forest in step with the API server on
// every replica.
//
// A Syncer is a manager Runnable that does not need leader election: webhooks
// are served by every replica and read the forest, so every replica must
// fill it, while only the leader's reconcilers write to the API. The Syncer
// registers event handlers on the manager's informers for Namespaces,
// HierarchyConfigurations and SubnamespaceAnchors. Each event names one or
// two namespaces; for each, the Syncer reads that namespace's facts back
// from the cache (State), and Apply records them in the forest under its
// lock. Re-reading the whole state of a namespace instead of applying event
// deltas makes the handlers idempotent and independent of event order.
//
// Apply is pure and returns the namespaces whose derived state (conditions,
// tree labels, managed metadata, children) may have changed. The Syncer
// hands those names to its subscribers (Subscribe, Source), which enqueue
// them in their reconcilers.
//
// Readiness: Loaded turns true, and the readyz check passes, only once the
// initial lists of all three kinds have been delivered into the forest.
// Fail-closed webhooks deny with ErrNotLoaded's message before that.
package forestsync
