// Package tenant holds the Tenant's admission webhooks, each a thin Handle
// over a pure decision function:
//
//   - Validate checks a Tenant spec (names, duplicates, parents, cycles,
//     namespaces owned by another tenant or tree, ClusterRoles against the
//     installation's allow-list, quantities, teams, the subnamespace cap)
//     and answers with field-level errors (apierrors.NewInvalid) naming
//     the field, e.g. spec.namespaces[2].parent.
//   - DecideAnchor enforces spec.subnamespaces (allowed, max) on anchors
//     created inside a tenant's tree.
//   - DecideProtect keeps what a Tenant generates (the root's parent, the
//     tenant quota, generated RoleBindings, NetworkPolicies and
//     LimitRanges) under the manager's control inside the tree, while
//     owners may still set quotas below the tenant's.
//
// Handlers read the forest under its lock and the Tenants from the cache;
// they never write to the API.
package tenant
