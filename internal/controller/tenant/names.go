package tenant

import (
	"fmt"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// FieldManager is the server-side apply field manager of everything the
// tenant controller writes, the Tenant's status included.
const FieldManager = "canopy-tenant"

// LabelGenerated marks every object a Tenant generated with the tenant's
// name, so stale ones can be pruned and the tenant webhook can protect them.
const LabelGenerated = "tenancy.canopy.dev/generated-by"

// Pod Security Admission labels.
const (
	LabelPodSecurityEnforce        = "pod-security.kubernetes.io/enforce"
	LabelPodSecurityEnforceVersion = "pod-security.kubernetes.io/enforce-version"
)

// Names of generated objects.
const (
	// QuotaName is the HierarchicalQuota at the root.
	QuotaName = "tenant-quota"
	// OwnersBindingName is the RoleBinding granting owners admin at the root.
	OwnersBindingName = "canopy-tenant-owners"
	// LimitRangeName is the LimitRange in every namespace.
	LimitRangeName = "canopy-tenant-defaults"
	// NetworkPolicyName is the isolation policy in every namespace.
	NetworkPolicyName = "canopy-tenant-isolation"
	// OwnersClusterRole is the ClusterRole the owners bind to.
	OwnersClusterRole = "admin"
)

// BindingName is the name of the RoleBinding for spec.roleBindings[i].
func BindingName(i int) string { return fmt.Sprintf("canopy-tenant-binding-%d", i) }

// ClusterName is the name of the Tenant's cluster-scoped objects: the
// owners' ClusterRole and ClusterRoleBinding and the admission policies
// and their bindings.
func ClusterName(tenant string) string { return "canopy-tenant-" + tenant }

// Reasons of the conditions this controller owns.
const (
	ReasonReconciled        = "Reconciled"
	ReasonPending           = "Pending"
	ReasonNamespaceHolds    = "NamespaceHoldsWorkloads"
	ReasonApplyFailed       = "ApplyFailed"
	ReasonDeletionBlocked   = "DeletionBlocked"
	ReasonDeleting          = "Deleting"
	ReasonNotReady          = "NotReady"
	ReasonNoQuota           = "NoQuota"
	ReasonInvalidSpec       = "InvalidSpec"
	ReasonNamespaceConflict = "NamespaceConflict"
)

// Reasons of Events that are not condition reasons.
const (
	// ReasonApplied: a new generation of the spec was written out.
	ReasonApplied = "Applied"
	// ReasonCreated and ReasonDeleted: a namespace or anchor was created or
	// deleted.
	ReasonCreated = "Created"
	ReasonDeleted = "Deleted"
	// ReasonReleased: the finalizer was removed without teardown because
	// the Tenant CRD is being deleted (an uninstall).
	ReasonReleased = "ReleasedForUninstall"
)

// generatedLabels are the labels every generated object carries.
func generatedLabels(t *tenancyv1.Tenant) map[string]string {
	return map[string]string{LabelGenerated: t.Name}
}
