// Package tenant holds the Tenant's admission webhooks, each a thin Handle
// over a pure decision function:
//
//   - Validate checks a Tenant spec (names, duplicates, parents, cycles,
//     namespaces owned by another tenant or tree, ClusterRoles against the
//     installation's allow-list, quantities, teams, the subnamespace cap)
//     and answers with field-level errors (apierrors.NewInvalid) naming
//     the field, e.g. spec.namespaces[2].parent.
//   - DecideAnchor enforces spec.subnamespaces (allowed, max) on anchors
//     created inside a tenant's tree, counting with PlanSlot (below). The
//     tenant is found by walking up the forest (and the subnamespace-of
//     annotation of a subnamespace the forest has not linked yet) to a
//     namespace with the tenant label, so a subnamespace created a moment
//     ago, not yet labelled, is inside the cap too.
//   - DecideAnchorDelete keeps the anchors of the namespaces declared in
//     spec.namespaces from users' deletes, and DecideCascading keeps users
//     from allowing cascading deletion at the root or a declared
//     namespace: those namespaces are the platform team's. The manager,
//     the namespace controller and a CRD deletion (an uninstall) pass.
//   - DecideProtect keeps what a Tenant generates (the root's parent, the
//     tenant quota, generated RoleBindings, NetworkPolicies and
//     LimitRanges) under the manager's control inside the tree, while
//     owners may still set quotas below the tenant's.
//
// Handlers read the forest under its lock and the Tenants from the cache.
// They never write to the API, with one exception.
//
// # The subnamespace cap under concurrency
//
// Counting the tree in the forest is not enough for spec.subnamespaces.max:
// the forest learns of an admitted anchor only once the API server has
// stored it and the informer delivered it, so anchors created at once
// (through one replica or several) would each see the same room, and all
// be admitted. So the anchor webhook reserves. Each Tenant with a cap has a
// slot ledger, a ConfigMap canopy-tenant-<name>-slots in the manager's
// namespace (owned by the Tenant, so it goes with it), mapping each
// reserved subnamespace name to the time its anchor was admitted. To
// admit an anchor the webhook reads the ledger from the API server (never
// a cache), counts the union of the forest's namespaces and anchors in the
// tree and the ledger's live reservations (PlanSlot, pure), and writes the
// ledger back with the new name under a precondition on the
// resourceVersion it read (a create fails if another replica created it
// first). A lost race means another anchor was admitted meanwhile: it
// starts again from the read, so admissions are serialised through that
// one object, the same compare-and-swap the hierarchical quota ledger
// uses. Dry runs decide without writing.
//
// A reservation lives SlotTTL (a minute): long enough for the anchor to
// reach every replica's forest, where it is counted by name, so one name
// is never counted twice. The price is conservative and bounded: an anchor
// admitted here but refused by a later admission step, or deleted within
// the minute, holds its slot until the reservation expires. The cap can
// never be exceeded by team leads; anchors the Tenant itself creates for
// spec.namespaces are checked against the cap when the Tenant is
// validated, not reserved.
package tenant
