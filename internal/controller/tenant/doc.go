// Package tenant expands a Tenant into a governed namespace tree and keeps it
// converged.
//
// # Decide, then act
//
// Everything a Tenant generates is computed by pure functions from its spec
// (desired.go, admission.go) and table-tested without a client: the root
// namespace and its labels, one SubnamespaceAnchor per listed namespace,
// RoleBindings at the root (the hierarchy engine propagates them down),
// the HierarchicalQuota tenant-quota, a LimitRange and a NetworkPolicy per
// namespace, a ClusterRole and ClusterRoleBinding letting the owners read
// their own Tenant, and a ValidatingAdmissionPolicy and
// MutatingAdmissionPolicy with their bindings, which make the API server
// itself enforce the guardrails (registries, storage and ingress classes,
// node selector) with no webhook hop.
//
// The reconciler (leader only) reads the Tenant and the tree from the forest
// (read, lock and decide, unlock and write), then writes every object with
// server-side apply under the field manager canopy-tenant, so a re-apply is
// a no-op and fields other writers own are left alone. Stale generated
// objects are found by the label tenancy.canopy.dev/generated-by and
// pruned. Namespaces and anchors never get ownerReferences: the garbage
// collector would delete them when the Tenant goes, even under Retain.
//
// # Drift
//
// The reconciler watches what it generates (watch.go): RoleBindings,
// ClusterRoles and ClusterRoleBindings, LimitRanges, NetworkPolicies, the
// HierarchicalQuota, the admission policies and their bindings, and the
// metadata of the tenant's namespaces. A dedicated cache, run on the
// leader only, holds just the metadata of objects carrying the
// generated-by label (namespaces: the tenant label), and each change maps
// back to its Tenant by that label, so a hand edit or deletion is reverted
// at once rather than at the next resync. A deletion, or an edit dropping
// the label, arrives as a delete event with the old labels. Anchors need no
// watch here: the forest reports every anchor change.
//
// # Status
//
// The Tenant's status has several writers (see TenantStatus). This package
// owns namespaces, observedGeneration and the conditions Ready,
// NamespacesReady, RBACReady, QuotaReady and PoliciesReady, written once per
// reconcile with a server-side apply of the status subresource, and only
// when they changed.
//
// # Events
//
// Recorded through events.k8s.io/v1 with the Tenant as the regarding
// object (so in the default namespace): Created (root namespace, anchor),
// Deleted (anchor removed from spec.namespaces), Applied (once per spec
// generation written out), and the warnings NamespaceHoldsWorkloads and
// DeletionBlocked; Deleting when the root goes under Delete.
//
// # Deletion
//
// Retain (the default) keeps every namespace, everything in it, the anchors
// (so the tree stays an ordinary HNC tree) and the RoleBindings (so the
// owners keep administering their namespaces). It removes the guardrails
// the Tenant generated: the admission policies and their bindings,
// NetworkPolicies, LimitRanges, the tenant quota, the owners' ClusterRole
// on the Tenant, and every namespace label the Tenant set (its own label,
// Pod Security and default labels), by applying an empty configuration
// under canopy-tenant. LimitRanges go too: they are the Tenant's defaults,
// and leaving them would keep enforcing a policy nobody owns any more.
//
// Delete removes the tree bottom-up (leaf subnamespaces first, through
// their anchors, then the root namespace), and refuses with a condition
// while any namespace holds workloads, unless spec.force is set.
package tenant
