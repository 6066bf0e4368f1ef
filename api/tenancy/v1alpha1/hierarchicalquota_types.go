package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HierarchicalQuotaSpec limits the sum of usage over a namespace and all its
// descendants. It extends HNC's HierarchicalResourceQuota, which has only
// hard, and both kinds are enforced by one engine.
type HierarchicalQuotaSpec struct {
	// Hard is the limit per resource, with ResourceQuota's resource names.
	Hard corev1.ResourceList `json:"hard"`
	// Allocations give named descendant subtrees (keyed by their root
	// namespace) their own caps out of hard. Their sum may not exceed hard;
	// the quota's own namespace and any other descendants share the rest.
	// +optional
	Allocations map[string]corev1.ResourceList `json:"allocations,omitempty"`
	// ScopeSelector limits what is counted, with ResourceQuota's semantics.
	// +optional
	ScopeSelector *corev1.ScopeSelector `json:"scopeSelector,omitempty"`
}

// HierarchicalQuotaStatus is the observed usage.
type HierarchicalQuotaStatus struct {
	// ObservedGeneration is the generation last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Hard is the enforced limit.
	// +optional
	Hard corev1.ResourceList `json:"hard,omitempty"`
	// Used is the current usage over the subtree.
	// +optional
	Used corev1.ResourceList `json:"used,omitempty"`
	// RequestsSummary renders requests.* and plain resources as used/hard.
	// +optional
	RequestsSummary string `json:"requestsSummary,omitempty"`
	// LimitsSummary renders limits.* as used/hard.
	// +optional
	LimitsSummary string `json:"limitsSummary,omitempty"`
	// Conditions: Ready, and OverLimit when hard was lowered below usage.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// HierarchicalQuota conditions.
const (
	ConditionOverLimit = "OverLimit"
)

// HierarchicalQuota is Canopy's hierarchical quota with delegated budgets and
// scopes.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=hq
// +kubebuilder:printcolumn:name="Request",type=string,JSONPath=`.status.requestsSummary`
// +kubebuilder:printcolumn:name="Limit",type=string,JSONPath=`.status.limitsSummary`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type HierarchicalQuota struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   HierarchicalQuotaSpec   `json:"spec,omitempty"`
	Status HierarchicalQuotaStatus `json:"status,omitempty"`
}

// HierarchicalQuotaList is a list of HierarchicalQuotas.
//
// +kubebuilder:object:root=true
type HierarchicalQuotaList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []HierarchicalQuota `json:"items"`
}
