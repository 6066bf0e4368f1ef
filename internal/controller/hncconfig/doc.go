// Package hncconfig reconciles HNC's HNCConfiguration singleton ("config"):
// it creates it when missing, reports status.resources (mode, version and
// the counts of source and propagated objects per type) and
// status.conditions, and keeps the objects webhook's rules equal to the
// propagated types.
//
// Which types are propagated is decided by the propagation Propagator,
// which reads the same object on every replica; this reconciler only
// reports (leader only). Status is computed by the pure DesiredStatus and
// written with a plain Update only when it changed: HNC's CRDs have no
// status subresource, and Canopy keeps them so for compatibility.
//
// # Who owns the objects webhook's rules
//
// The static manifest (config/webhook/manifests.yaml, generated from the
// marker in internal/webhook/objects) carries only Roles and RoleBindings.
// At runtime this reconciler owns webhooks[name=objects.hnc.x-k8s.io].rules
// through server-side apply with field manager "canopy-objects-webhook",
// and owns nothing else of that object, so `make manifests` never changes
// because of it. A client-side `kubectl apply` of the static manifest
// resets the rules to Roles and RoleBindings until the next status change
// re-applies them.
package hncconfig
