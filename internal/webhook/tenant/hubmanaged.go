package tenant

import (
	"context"
	"slices"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// The hub-managed validator fails closed (Fail): it is selected only on
// Tenants labelled as managed by a fleet hub, so an outage only delays the
// hub's writes (it retries), while failing open would let a member's local
// admin change or delete what the hub placed, quota allocation included.
//
// +kubebuilder:webhook:path=/validate-tenant-hub-managed,mutating=false,failurePolicy=fail,sideEffects=None,groups=tenancy.canopy.dev,resources=tenants,verbs=create;update;delete,versions=v1alpha1,name=tenant-hub-managed.tenancy.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"objectSelector":{"matchLabels":{"tenancy.canopy.dev/managed-by":"hub"}}}`

type hubManaged struct{ d Deps }

// Handle allows the hub's identities and the manager; everyone else is
// denied.
func (v *hubManaged) Handle(ctx context.Context, req admission.Request) admission.Response {
	if why := DecideHubManaged(req.UserInfo.Username, v.d.HubUsers, v.d.IsManager(ctx, req.UserInfo.Username)); why != "" {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied local change to a hub-managed Tenant", "tenant", req.Name, "user", req.UserInfo.Username, "operation", req.Operation)
		return admission.Denied(why)
	}
	return admission.Allowed("")
}

// DecideHubManaged returns why user may not write a Tenant labelled
// tenancy.canopy.dev/managed-by=hub, or "" when it may: the fleet hub's
// identities write it, and the member's own manager keeps its finalizer.
func DecideHubManaged(user string, hubUsers []string, isManager bool) string {
	if isManager || slices.Contains(hubUsers, user) {
		return ""
	}
	return "Tenant is managed by the fleet hub (label " + tenancyv1.LabelManagedBy + "=" + tenancyv1.ManagedByHub + "); change it on the hub"
}
