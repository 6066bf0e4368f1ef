// Package forest is Canopy's in-memory model of the namespace hierarchy: one
// Forest of Namespaces, each with its parent, children, subnamespace facts,
// local conditions, managed metadata and the source objects it may propagate.
//
// # Read, lock and decide, unlock and write
//
// The forest is filled on every replica from informer event handlers, so it
// always reflects what the API server holds, including states the webhooks
// try to prevent (a parent that does not exist yet, or a cycle created while
// the webhook was down). Reconcilers use it in three steps:
//
//  1. Read the objects they need from the API (or the cache).
//  2. Lock the forest, record what they read, and decide what the world should
//     look like (tree labels, conditions, which copies to write). Every method
//     on Forest and Namespace except Lock and Unlock assumes the caller holds
//     the lock; none of them blocks or performs I/O.
//  3. Unlock, then write to the API.
//
// Webhooks only read: they lock, evaluate a pure decision and unlock.
// Namespace pointers stay valid only while the lock is held; after Unlock,
// look the namespace up again.
//
// # Cycles and placeholders
//
// Get creates a placeholder for a namespace that has not been seen yet (for
// example the parent named by a HierarchyConfiguration that arrived before
// its namespace). SetParent accepts any parent, including one that closes a
// cycle, because the API can hold one; every walk up or down the tree is
// cycle safe and CycleNames reports the cycle. All walks cost O(depth) or
// O(subtree), never O(forest).
//
// The package is pure: it imports API types and apimachinery only, never a
// Kubernetes client.
package forest
