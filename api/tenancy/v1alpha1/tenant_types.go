package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations Canopy writes.
const (
	// LabelTenant marks every namespace of a tenant's tree with the tenant's
	// name, so OpenCost and Prometheus can group by tenant.
	LabelTenant = "tenancy.canopy.dev/tenant"
	// FinalizerTenant guards the teardown of what a Tenant generated.
	FinalizerTenant = "tenancy.canopy.dev/tenant"
)

// DeletionPolicy says what happens to a tenant's namespaces when the Tenant
// is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionRetain keeps every namespace and everything in it; only the
	// Tenant's own generated policy objects are removed.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete removes the tree, refusing while a namespace holds
	// workloads unless spec.force is set.
	DeletionDelete DeletionPolicy = "Delete"
)

// PodSecurityLevel is a Pod Security Admission level.
// +kubebuilder:validation:Enum=privileged;baseline;restricted
type PodSecurityLevel string

// TenantSpec is what the platform team hands a team.
// +kubebuilder:validation:XValidation:rule="has(self.placement) == has(oldSelf.placement)",message="placement cannot be added to or removed from an existing Tenant"
type TenantSpec struct {
	// Owners administer the whole tree: they get the admin ClusterRole
	// through an inherited RoleBinding at the root and may create
	// subnamespaces anywhere in it.
	// +optional
	// +listType=atomic
	Owners []rbacv1.Subject `json:"owners,omitempty"`

	// Namespaces are the subnamespaces of the tree under the root namespace,
	// which has the tenant's name. Each names its parent; an empty parent
	// means the root.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=1000
	Namespaces []TenantNamespace `json:"namespaces,omitempty"`

	// RoleBindings are extra bindings created at the root and inherited by
	// every namespace of the tree. Only ClusterRoles on the installation's
	// allow-list may be named.
	// +optional
	// +listType=atomic
	RoleBindings []TenantRoleBinding `json:"roleBindings,omitempty"`

	// Quota is a hierarchical limit over the whole tree, enforced as a
	// HierarchicalQuota at the root.
	// +optional
	Quota *TenantQuota `json:"quota,omitempty"`

	// NamespaceDefaults are copied into every namespace of the tree.
	// +optional
	NamespaceDefaults *NamespaceDefaults `json:"namespaceDefaults,omitempty"`

	// Policies are guardrails enforced by the API server itself.
	// +optional
	Policies *TenantPolicies `json:"policies,omitempty"`

	// Subnamespaces says whether team leads may grow the tree themselves.
	// +optional
	Subnamespaces *SubnamespacePolicy `json:"subnamespaces,omitempty"`

	// CostCenter is carried into cost reports.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	CostCenter string `json:"costCenter,omitempty"`

	// Budget raises conditions, events and a metric as monthly spend
	// crosses its thresholds.
	// +optional
	Budget *Budget `json:"budget,omitempty"`

	// Teams are the units cost and Grafana report on, each owning a subtree.
	// The tenant itself is always a team.
	// +optional
	// +listType=map
	// +listMapKey=name
	Teams []Team `json:"teams,omitempty"`

	// DeletionPolicy says what deleting the Tenant does to its namespaces.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Force, with deletionPolicy Delete, also deletes namespaces that still
	// hold workloads. A hub never passes it on to members.
	// +optional
	Force bool `json:"force,omitempty"`

	// Placement makes this a fleet Tenant: a hub (canopy-manager --hub)
	// writes it to the member clusters it selects, and no manager expands
	// it in the cluster that holds it. It cannot be added or removed later.
	// +optional
	Placement *TenantPlacement `json:"placement,omitempty"`
}

// TenantNamespace is one subnamespace of a tenant's tree.
type TenantNamespace struct {
	// Name of the namespace.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// Parent is another namespace of the tree; empty means the root.
	// +optional
	Parent string `json:"parent,omitempty"`
}

// TenantRoleBinding binds a ClusterRole to subjects in every namespace of
// the tree.
type TenantRoleBinding struct {
	// ClusterRole to bind; it must be on the installation's allow-list.
	// +kubebuilder:validation:MinLength=1
	ClusterRole string `json:"clusterRole"`
	// Subjects that receive the role.
	// +kubebuilder:validation:MinItems=1
	// +listType=atomic
	Subjects []rbacv1.Subject `json:"subjects"`
}

// TenantQuota limits the sum of usage over the whole tree.
type TenantQuota struct {
	// Hard is the limit per resource, with ResourceQuota's resource names.
	Hard corev1.ResourceList `json:"hard"`
}

// NamespaceDefaults are copied into every namespace of the tree.
type NamespaceDefaults struct {
	// LimitRange is created in every namespace.
	// +optional
	LimitRange *corev1.LimitRangeSpec `json:"limitRange,omitempty"`
	// Labels are set on every namespace.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are set on every namespace.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// TenantPolicies are the tenant's guardrails.
type TenantPolicies struct {
	// NetworkIsolation denies ingress from outside the tenant and allows it
	// within.
	// +optional
	NetworkIsolation bool `json:"networkIsolation,omitempty"`
	// PodSecurity sets Pod Security Admission's enforce level on every
	// namespace.
	// +optional
	PodSecurity PodSecurityLevel `json:"podSecurity,omitempty"`
	// AllowedRegistries are the registries or repositories every container
	// image must come from. Entries and images are compared as normalised
	// image names (tag and digest dropped; a name whose first component has
	// no '.' or ':' and is not "localhost" is on Docker Hub, so "nginx" is
	// docker.io/library/nginx and "bitnami/" is docker.io/bitnami/). An
	// entry allows its own name and everything below it at a '/' boundary
	// ("registry.example.com" allows registry.example.com/app, not
	// registry.example.com.evil.io/app); an entry ending in '/' allows only
	// what is below it. No scheme, tag or digest.
	// +optional
	// +listType=set
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
	// AllowedStorageClasses limits PersistentVolumeClaims.
	// +optional
	// +listType=set
	AllowedStorageClasses []string `json:"allowedStorageClasses,omitempty"`
	// AllowedIngressClasses limits Ingresses.
	// +optional
	// +listType=set
	AllowedIngressClasses []string `json:"allowedIngressClasses,omitempty"`
	// NodeSelector is injected into every pod.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// SubnamespacePolicy governs team-made subnamespaces.
type SubnamespacePolicy struct {
	// Allowed lets owners and those they grant create subnamespaces.
	// +optional
	// +kubebuilder:default=true
	Allowed *bool `json:"allowed,omitempty"`
	// Max caps the number of namespaces the tree may hold, root included;
	// zero means no cap.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Max int32 `json:"max,omitempty"`
}

// Budget is a monthly spending limit.
type Budget struct {
	// Monthly is the budget for one calendar month (UTC).
	Monthly resource.Quantity `json:"monthly"`
	// Currency of the budget, as OpenCost reports it.
	// +optional
	// +kubebuilder:default=USD
	Currency string `json:"currency,omitempty"`
	// AlertAt lists percentages of the budget that raise an alert.
	// +optional
	// +listType=set
	AlertAt []int32 `json:"alertAt,omitempty"`
}

// Team owns a subtree of the tenant's tree.
type Team struct {
	// Name of the team, unique within the tenant.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// Namespace is the root of the subtree the team owns.
	Namespace string `json:"namespace"`
	// Grafana lists the team's Grafana users.
	// +optional
	Grafana *GrafanaMembers `json:"grafana,omitempty"`
}

// GrafanaMembers names Grafana users by login or email.
type GrafanaMembers struct {
	// Members may edit the team's dashboards.
	// +optional
	// +listType=set
	Members []string `json:"members,omitempty"`
	// Viewers may only view them.
	// +optional
	// +listType=set
	Viewers []string `json:"viewers,omitempty"`
}

// TenantStatus is written by several controllers, each through server-side
// apply with its own field manager:
//   - canopy-tenant owns namespaces, observedGeneration and the
//     conditions Ready, NamespacesReady, RBACReady, QuotaReady, PoliciesReady;
//   - canopy-cost owns cost and the conditions CostAvailable, BudgetExceeded;
//   - canopy-dashboard owns dashboardURL and the condition DashboardsReady;
//   - canopy-fleet (a hub) owns clusters and the condition Placed.
type TenantStatus struct {
	// ObservedGeneration is the generation the tenant controller last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Namespaces lists every namespace in the tree, team-made ones included.
	// +optional
	// +listType=set
	Namespaces []string `json:"namespaces,omitempty"`
	// Cost summarises spend.
	// +optional
	Cost *TenantCostStatus `json:"cost,omitempty"`
	// DashboardURL is the tenant's Grafana folder.
	// +optional
	DashboardURL string `json:"dashboardURL,omitempty"`
	// Clusters reports each member a hub placed the Tenant on, or is
	// removing it from.
	// +optional
	// +listType=map
	// +listMapKey=name
	Clusters []TenantClusterStatus `json:"clusters,omitempty"`
	// Conditions; see the type's doc for who owns which.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TenantCostStatus is the tenant's spend.
type TenantCostStatus struct {
	// MonthToDate is spend since the first of this month, UTC.
	// +optional
	MonthToDate string `json:"monthToDate,omitempty"`
	// LastMonth is spend over the previous calendar month, UTC.
	// +optional
	LastMonth string `json:"lastMonth,omitempty"`
	// Currency of the figures.
	// +optional
	Currency string `json:"currency,omitempty"`
	// UpdatedAt is when the figures were read.
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
}

// Tenant conditions and reasons.
const (
	ConditionReady           = "Ready"
	ConditionNamespacesReady = "NamespacesReady"
	ConditionRBACReady       = "RBACReady"
	ConditionQuotaReady      = "QuotaReady"
	ConditionPoliciesReady   = "PoliciesReady"
	ConditionCostAvailable   = "CostAvailable"
	ConditionBudgetExceeded  = "BudgetExceeded"
	ConditionDashboardsReady = "DashboardsReady"
)

// Tenant is a team's governed namespace tree.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=tnt
// +kubebuilder:printcolumn:name="Namespaces",type=integer,JSONPath=`.status.namespaces.length()`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tenant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TenantSpec   `json:"spec,omitempty"`
	Status TenantStatus `json:"status,omitempty"`
}

// TenantList is a list of Tenants.
//
// +kubebuilder:object:root=true
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tenant `json:"items"`
}
