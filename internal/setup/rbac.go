package setup

// The manager's own RBAC, generated into config/rbac/role.yaml. Each
// controller declares what it needs beside its code; these are the grants
// the wiring itself needs.
//
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
