package forest

// LabelInTree marks every namespace that has a parent or children. The
// hierarchy reconciler sets it and removes it; fail-closed webhooks select
// on it, so a manager outage never blocks namespaces outside Canopy's
// trees.
const LabelInTree = "canopy.dev/in-tree"
