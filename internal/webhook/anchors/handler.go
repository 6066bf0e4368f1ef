package anchors

import (
	"context"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/crdstate"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/forestsync"
)

// Path is where the validator is served.
const Path = "/validate-hnc-x-k8s-io-v1alpha2-subnamespaceanchors"

// WebhookName is the webhook's name in its configuration.
const WebhookName = "subnamespaceanchors.validate.canopy.dev"

// The validator fails closed (Fail): anchors exist only in namespaces that
// use Canopy's hierarchy, so an outage blocks only subnamespace changes
// there, while failing open could delete a whole subtree that did not
// allow cascading deletion, or create a subnamespace under a halted parent.
//
// +kubebuilder:webhook:path=/validate-hnc-x-k8s-io-v1alpha2-subnamespaceanchors,mutating=false,failurePolicy=fail,sideEffects=None,groups=hnc.x-k8s.io,resources=subnamespaceanchors,verbs=create;update;delete,versions=v1alpha2,name=subnamespaceanchors.validate.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5

// IsManager reports whether a username is Canopy's manager.
type IsManager func(ctx context.Context, username string) bool

type validator struct {
	forest    *forest.Forest
	sync      *forestsync.Syncer
	isManager IsManager
	decoder   admission.Decoder
	// reader reads the anchor CRD on deletions (uncached).
	reader client.Reader
}

// Handle validates an anchor request.
func (v *validator) Handle(ctx context.Context, req admission.Request) admission.Response {
	r := Request{Op: req.Operation, FromManager: v.isManager(ctx, req.UserInfo.Username)}
	if len(req.Object.Raw) > 0 {
		r.New = &api.SubnamespaceAnchor{}
		if err := v.decoder.DecodeRaw(req.Object, r.New); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	if len(req.OldObject.Raw) > 0 {
		r.Old = &api.SubnamespaceAnchor{}
		if err := v.decoder.DecodeRaw(req.OldObject, r.Old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	if (r.Op == admissionv1.Create && r.New == nil) || (r.Op == admissionv1.Update && (r.New == nil || r.Old == nil)) || (r.Op == admissionv1.Delete && r.Old == nil) {
		return admission.Errored(http.StatusBadRequest, errMissingObject)
	}
	if r.FromManager {
		return admission.Allowed("")
	}
	if r.Op == admissionv1.Delete && v.reader != nil {
		// The API server deletes every anchor when their CRD is deleted;
		// the anchor reconciler then leaves every subnamespace in place,
		// so nothing needs guarding, and refusing would wedge the CRD.
		deleting, err := crdstate.Deleting(ctx, v.reader, crdstate.Anchors)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if deleting {
			return admission.Allowed("the SubnamespaceAnchor CRD is being deleted")
		}
	}
	if !v.sync.Loaded() {
		return admission.Denied(forestsync.ErrNotLoaded.Error())
	}
	v.forest.Lock()
	why := Decide(v.forest, r)
	v.forest.Unlock()
	if why == "" && r.Op == admissionv1.Create && v.reader != nil {
		// The forest learns of a namespace only once the informer has
		// delivered it: a namespace created a moment ago is read live, so
		// the anchor is refused now rather than left in Conflict.
		var err error
		if why, err = liveConflict(ctx, v.reader, r.New); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
	}
	if why != "" {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied anchor request", "anchor", req.Namespace+"/"+req.Name, "operation", req.Operation, "reason", why)
		return admission.Denied(why)
	}
	return admission.Allowed("")
}

// Register serves the validator.
func Register(mgr ctrl.Manager, f *forest.Forest, s *forestsync.Syncer, isManager IsManager) {
	mgr.GetWebhookServer().Register(Path, &webhook.Admission{Handler: &validator{
		forest: f, sync: s, isManager: isManager, decoder: admission.NewDecoder(mgr.GetScheme()),
		reader: mgr.GetAPIReader(),
	}})
}

// liveConflict reads the anchor's namespace from the API server and
// returns Decide's denial if it exists and is not a subnamespace of the
// anchor's namespace, or "".
func liveConflict(ctx context.Context, r client.Reader, a *api.SubnamespaceAnchor) (string, error) {
	ns := &corev1.Namespace{}
	switch err := r.Get(ctx, client.ObjectKey{Name: a.Name}, ns); {
	case apierrors.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("reading namespace %q: %w", a.Name, err)
	}
	if ns.Annotations[api.SubnamespaceOf] == a.Namespace {
		return "", nil
	}
	return fmt.Sprintf("cannot create subnamespace %q in %q: a namespace of that name already exists and is not a subnamespace of %q", a.Name, a.Namespace, a.Namespace), nil
}
