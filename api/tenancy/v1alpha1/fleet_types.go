package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and values a hub writes on the Tenants it places in members.
const (
	// LabelManagedBy marks a member's Tenant that a hub wrote; the
	// member's admission lets only the hub's identity change it.
	LabelManagedBy = "tenancy.canopy.dev/managed-by"
	// ManagedByHub is LabelManagedBy's value.
	ManagedByHub = "hub"
	// FinalizerFleet guards the removal of a hub Tenant's member Tenants.
	FinalizerFleet = "tenancy.canopy.dev/fleet"
)

// Fleet conditions and reasons. Placed is on the hub Tenant; Available and
// Synced are on each entry of status.clusters.
const (
	ConditionPlaced    = "Placed"
	ConditionAvailable = "Available"
	ConditionSynced    = "Synced"

	ReasonPlaced            = "Placed"
	ReasonReachable         = "Reachable"
	ReasonUnreachable       = "Unreachable"
	ReasonNoClusters        = "NoClusters"
	ReasonInvalidPlacement  = "InvalidPlacement"
	ReasonQuotaUnallocated  = "QuotaUnallocated"
	ReasonSynced            = "Synced"
	ReasonRemoving          = "Removing"
	ReasonMemberNotReady    = "MemberNotReady"
	ReasonMembersPending    = "MembersPending"
	ReasonMemberWriteFailed = "WriteFailed"
)

// TenantPlacement places a Tenant on member clusters from a hub. A cluster
// is placed when clusterSelector selects it or clusters names it.
type TenantPlacement struct {
	// ClusterSelector selects member clusters by their labels: a
	// ClusterProfile's labels, or a kubeconfig Secret's.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
	// Clusters names member clusters.
	// +optional
	// +listType=set
	Clusters []string `json:"clusters,omitempty"`
	// Quota splits spec.quota.hard across clusters: each cluster's Tenant
	// carries its entry as its quota. For every resource the entries sum to
	// at most spec.quota.hard. With spec.quota set, a placed cluster
	// without an entry is not written (Synced=False, QuotaUnallocated).
	// Quota is enforced in each cluster on its own.
	// +optional
	// +listType=map
	// +listMapKey=cluster
	Quota []ClusterQuota `json:"quota,omitempty"`
}

// ClusterQuota is one cluster's share of the tenant quota.
type ClusterQuota struct {
	// Cluster is the member's name.
	// +kubebuilder:validation:MinLength=1
	Cluster string `json:"cluster"`
	// Hard is the limit in that cluster, with ResourceQuota's names.
	Hard corev1.ResourceList `json:"hard"`
}

// TenantClusterStatus is what the hub last saw of one member.
type TenantClusterStatus struct {
	// Name of the member cluster.
	Name string `json:"name"`
	// Namespaces of the tree in that cluster, team-made ones included.
	// +optional
	// +listType=set
	Namespaces []string `json:"namespaces,omitempty"`
	// QuotaHard is the limit the member enforces.
	// +optional
	QuotaHard corev1.ResourceList `json:"quotaHard,omitempty"`
	// QuotaUsed is the usage the member counts against it.
	// +optional
	QuotaUsed corev1.ResourceList `json:"quotaUsed,omitempty"`
	// Conditions: Available (reachable) and Synced (the member's Tenant
	// matches the hub's).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
