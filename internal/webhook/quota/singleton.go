package quota

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
)

// SingletonPath is where the singleton protection webhook is served.
const SingletonPath = "/validate-quota-singleton"

// Fails open (Ignore): failing closed would block deleting any namespace
// with a singleton while the manager is down (the namespace controller
// deletes the singleton). The leader restores an edited or deleted
// singleton when it is back, and the status webhook, which fails closed,
// still guards usage. Only singletons are selected.
// +kubebuilder:webhook:path=/validate-quota-singleton,mutating=false,failurePolicy=ignore,sideEffects=None,groups="",resources=resourcequotas,verbs=update;delete,versions=v1,name=singleton.quota.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"objectSelector":{"matchLabels":{"canopy.dev/quota-singleton":"true"}}}`

// +kubebuilder:rbac:groups=authentication.k8s.io,resources=selfsubjectreviews,verbs=create

// DecideSingletonEdit decides a change to a singleton: the manager itself
// may do anything, anyone may delete it while its namespace is being
// deleted, and an update that changes neither spec nor labels (metadata
// bookkeeping) is allowed, unless it changes the escrow epoch
// (ctrlquota.AnnotationEpoch). It returns "" to allow, else the denial.
func DecideSingletonEdit(op admissionv1.Operation, requester, self string, nsTerminating bool, prev, next *corev1.ResourceQuota) string {
	if requester == self && self != "" {
		return ""
	}
	if op == admissionv1.Delete {
		if nsTerminating {
			return ""
		}
	} else if apiequality.Semantic.DeepEqual(prev.Spec, next.Spec) && next.Labels[ctrlquota.LabelSingleton] == "true" &&
		prev.Annotations[ctrlquota.AnnotationEpoch] == next.Annotations[ctrlquota.AnnotationEpoch] {
		return ""
	}
	return fmt.Sprintf("ResourceQuota %q in namespace %q is maintained by Canopy to enforce hierarchical quota; change the HierarchicalResourceQuota or HierarchicalQuota instead", prev.Name, prev.Namespace)
}

// SingletonHandler protects the singletons from users.
type SingletonHandler struct {
	// Client creates the SelfSubjectReview that tells the manager who it
	// is; Cache reads namespaces.
	Client  client.Client
	Cache   client.Reader
	Decoder admission.Decoder

	mu   sync.Mutex
	self string
}

// Handle decides one update or deletion.
func (h *SingletonHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	prev, next := &corev1.ResourceQuota{}, &corev1.ResourceQuota{}
	if err := h.Decoder.DecodeRaw(req.OldObject, prev); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if req.Operation == admissionv1.Update {
		if err := h.Decoder.DecodeRaw(req.Object, next); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	if !ctrlquota.IsSingleton(prev.Labels) {
		return admission.Allowed("")
	}
	self, err := h.whoAmI(ctx)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	terminating := false
	if req.Operation == admissionv1.Delete {
		ns := &corev1.Namespace{}
		if err := h.Cache.Get(ctx, client.ObjectKey{Name: req.Namespace}, ns); err == nil {
			terminating = !ns.DeletionTimestamp.IsZero()
		} else {
			terminating = client.IgnoreNotFound(err) == nil
		}
	}
	if msg := DecideSingletonEdit(req.Operation, req.UserInfo.Username, self, terminating, prev, next); msg != "" {
		return admission.Denied(msg)
	}
	return admission.Allowed("")
}

// whoAmI asks the API server, once, which user the manager authenticates as.
func (h *SingletonHandler) whoAmI(ctx context.Context) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.self != "" {
		return h.self, nil
	}
	r := &authnv1.SelfSubjectReview{}
	if err := h.Client.Create(ctx, r); err != nil {
		return "", fmt.Errorf("asking the API server who the manager is: %w", err)
	}
	h.self = r.Status.UserInfo.Username
	return h.self, nil
}
