package namespaces

import (
	"context"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/forestsync"
)

// WebhookNames are the names of the two namespace validating webhooks in
// their configuration: one for namespaces in a tree or tenant, one open.
var WebhookNames = []string{"namespaces.validate.canopy.dev", "namespaces-open.validate.canopy.dev"}

// The validator is registered twice on the same path, split by whether the
// namespace is in a tree or a tenant: labelled canopy.dev/in-tree=true or
// tenancy.canopy.dev/tenant before or after the request. The split is a match condition on both objects rather than a
// namespaceSelector, because for a namespace's own CREATE and UPDATE the API
// server matches a namespaceSelector against the new object only, so an
// update removing the label would fall to the webhook that fails open.
//
// namespaces.validate.canopy.dev fails closed (Fail) for namespaces in a
// tree: they have a parent or children, so deleting them or forging or
// removing their tree labels while Canopy is down could orphan
// subnamespaces, grant access through label selectors, or take them out of
// the webhooks that protect propagated objects and hierarchical quotas. The
// same holds for a tenant's namespaces, even a root with no subnamespace:
// removing the tenant label takes them out of the webhook that protects
// what the Tenant generated. Namespaces outside every tree and tenant carry
// neither label, so an outage cannot block them.
//
// namespaces-open.validate.canopy.dev covers every other namespace and fails
// open (Ignore): it stops users from forging tree labels on namespaces not
// yet in a tree while the manager is up, and during an outage the hierarchy
// reconciler removes forged labels once Canopy is back.

// +kubebuilder:webhook:path=/validate-namespace,mutating=false,failurePolicy=fail,sideEffects=None,groups="",resources=namespaces,verbs=create;update;delete,versions=v1,name=namespaces.validate.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"in-tree-or-tenant","expression":"(object != null && has(object.metadata.labels) && (('canopy.dev/in-tree' in object.metadata.labels && object.metadata.labels['canopy.dev/in-tree'] == 'true') || 'tenancy.canopy.dev/tenant' in object.metadata.labels)) || (oldObject != null && has(oldObject.metadata.labels) && (('canopy.dev/in-tree' in oldObject.metadata.labels && oldObject.metadata.labels['canopy.dev/in-tree'] == 'true') || 'tenancy.canopy.dev/tenant' in oldObject.metadata.labels))"}]}`
// +kubebuilder:webhook:path=/validate-namespace,mutating=false,failurePolicy=ignore,sideEffects=None,groups="",resources=namespaces,verbs=create;update;delete,versions=v1,name=namespaces-open.validate.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"neither-in-tree-nor-tenant","expression":"!((object != null && has(object.metadata.labels) && (('canopy.dev/in-tree' in object.metadata.labels && object.metadata.labels['canopy.dev/in-tree'] == 'true') || 'tenancy.canopy.dev/tenant' in object.metadata.labels)) || (oldObject != null && has(oldObject.metadata.labels) && (('canopy.dev/in-tree' in oldObject.metadata.labels && oldObject.metadata.labels['canopy.dev/in-tree'] == 'true') || 'tenancy.canopy.dev/tenant' in oldObject.metadata.labels)))"}]}`

// IsManager reports whether a username is Canopy's manager.
type IsManager func(ctx context.Context, username string) bool

type validator struct {
	forest    *forest.Forest
	sync      *forestsync.Syncer
	isManager IsManager
	decoder   admission.Decoder
}

// Handle decodes the request, decides under the forest's lock and answers.
func (v *validator) Handle(ctx context.Context, req admission.Request) admission.Response {
	r := Request{Op: req.Operation, Name: req.Name, FromManager: v.isManager(ctx, req.UserInfo.Username)}
	if len(req.Object.Raw) > 0 {
		ns := &corev1.Namespace{}
		if err := v.decoder.DecodeRaw(req.Object, ns); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		r.NewLabels, r.NewAnnot = ns.Labels, ns.Annotations
	}
	if len(req.OldObject.Raw) > 0 {
		ns := &corev1.Namespace{}
		if err := v.decoder.DecodeRaw(req.OldObject, ns); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		r.OldLabels, r.OldAnnotations = ns.Labels, ns.Annotations
	}
	if r.Op == admissionv1.Delete && !r.FromManager && !v.sync.Loaded() {
		return admission.Denied(forestsync.ErrNotLoaded.Error())
	}
	v.forest.Lock()
	why := Decide(v.forest, r)
	v.forest.Unlock()
	if why != "" {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied namespace request", "namespace", req.Name, "operation", req.Operation, "reason", why)
		return admission.Denied(why)
	}
	return admission.Allowed("")
}

// RegisterValidator serves the namespace validator.
func RegisterValidator(mgr ctrl.Manager, f *forest.Forest, s *forestsync.Syncer, isManager IsManager) {
	mgr.GetWebhookServer().Register(ValidatePath, &webhook.Admission{Handler: &validator{
		forest: f, sync: s, isManager: isManager, decoder: admission.NewDecoder(mgr.GetScheme()),
	}})
}
