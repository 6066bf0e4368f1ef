// Package v1alpha1 holds Canopy's own API, group tenancy.canopy.dev: the
// Tenant, which expands into a governed namespace tree, and the
// HierarchicalQuota, the extended form of HNC's HierarchicalResourceQuota.
//
// +kubebuilder:object:generate=true
// +groupName=tenancy.canopy.dev
package v1alpha1
