// Package kubectl implements kubectl-canopy, the kubectl plugin for Canopy.
// It answers HNC's `kubectl hns` verbs (tree, create, set, describe, config,
// hrq) with HNC's wording, adds delete, and adds Canopy's tenant views.
//
// # Design
//
// Every verb is a plain function taking a context, a controller-runtime
// client.Client and an io.Writer, so tests drive it with the fake client and
// compare the rendered text. The cobra commands in root.go and cmd_*.go only
// parse flags, validate them (naming the bad flag in the error) and call
// those functions; they hold no logic of their own.
//
// Each verb follows the same three steps as Canopy's controllers: read what
// it needs from the API, decide with pure functions (the forest model in
// forest.go, the tree renderer in render.go, the quota summaries in
// summary.go), then write the output or the one object it changes.
//
// # API calls
//
// `tree -A` reads the whole cluster with exactly two List calls, namespaces
// and HierarchyConfigurations, and builds the forest in memory; it never
// makes one call per namespace (HNC's issue #223). `tree NS` walks down
// from NS with a Get of each namespace and its HierarchyConfiguration, which
// needs only namespace-scoped read access, so a tenant without cluster-wide
// list permission can still see its own tree.
package kubectl
