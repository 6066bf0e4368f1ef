package objects

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

// Path is where the webhook is served; WebhookName is its name in the
// ValidatingWebhookConfiguration (HNC's name).
const (
	Path        = "/validate-objects"
	WebhookName = "objects.hnc.x-k8s.io"
)

// failurePolicy=fail: letting a user edit a copy, or a source overwrite a
// descendant's object, while the manager is down would be silently undone
// or destroy data. It is selected on canopy.dev/in-tree: "true", which the
// hierarchy reconciler sets only on namespaces with a parent or children,
// so an outage blocks writes of propagated types only inside Canopy's
// trees, never in the rest of the cluster (almost every namespace carries
// HNC's included-namespace label, so selecting on that would wedge the
// cluster). The rules listed here are the minimum; the hncconfig
// reconciler owns them at runtime.
//
// +kubebuilder:webhook:path=/validate-objects,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=create;update;delete,versions=*,name=objects.hnc.x-k8s.io,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"namespaceSelector":{"matchLabels":{"canopy.dev/in-tree":"true"}}}`

// Modes tells the webhook which kinds are propagated, in which mode.
type Modes interface {
	ModeForKind(gk schema.GroupKind) (api.SynchronizationMode, bool)
}

// Handler serves the objects webhook.
type Handler struct {
	Forest *forest.Forest
	Modes  Modes
	Config policy.Config
	// IsManager reports whether a username is the manager's own.
	IsManager func(ctx context.Context, username string) bool
	// Reader reads Namespaces (the manager's cached client).
	Reader   client.Reader
	Recorder events.EventRecorder
	// Loaded reports whether the forest has loaded; until then sources of
	// propagated types are denied with NotLoaded's message, since
	// conflicts cannot be detected. Copies are protected regardless.
	Loaded    func() bool
	NotLoaded error
}

// Register serves h on the manager's webhook server.
func Register(mgr ctrl.Manager, h *Handler) {
	mgr.GetWebhookServer().Register(Path, &webhook.Admission{Handler: h})
}

// Handle decodes the request, decides under the forest's lock and records
// an event for a denied conflict.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	r := Request{
		Operation: req.Operation,
		Namespace: req.Namespace,
		ByManager: h.IsManager(ctx, req.UserInfo.Username),
	}
	var err error
	if r.Old, err = decode(req.OldObject.Raw); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if r.New, err = decode(req.Object.Raw); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	gk := schema.GroupKind{Group: req.Kind.Group, Kind: req.Kind.Kind}
	r.Mode, r.Propagated = h.Modes.ModeForKind(gk)
	if r.Operation == "DELETE" && r.Old != nil && policy.IsCopy(r.Old) && !r.ByManager {
		ns := &corev1.Namespace{}
		if err := h.Reader.Get(ctx, client.ObjectKey{Name: req.Namespace}, ns); err != nil {
			return admission.Errored(http.StatusInternalServerError, fmt.Errorf("reading namespace %q: %w", req.Namespace, err))
		}
		r.NamespaceTerminating = ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating
	}

	if r.New != nil && !policy.IsCopy(r.New) && r.Propagated && !r.ByManager && h.Loaded != nil && !h.Loaded() {
		return admission.Denied(h.NotLoaded.Error())
	}
	h.Forest.Lock()
	v := Decide(r, h.Forest, h.Config)
	var owners []*unstructured.Unstructured
	for _, c := range v.Conflicts {
		if d := h.Forest.Lookup(c.Namespace); d != nil {
			if obj := d.GetSourceObject(r.New.GroupVersionKind(), c.Name); obj != nil {
				owners = append(owners, obj)
			}
		}
	}
	h.Forest.Unlock()

	if v.Allowed {
		return admission.Allowed("")
	}
	if h.Recorder != nil && (req.DryRun == nil || !*req.DryRun) {
		for _, o := range owners {
			h.Recorder.Eventf(o, nil, corev1.EventTypeWarning, "CannotPropagateObject", "Propagate",
				"An object of the same name in ancestor %q could not be created or changed, because it would overwrite this one", req.Namespace)
		}
	}
	return admission.Denied(v.Message)
}

func decode(raw []byte) (*unstructured.Unstructured, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(raw, &u.Object); err != nil {
		return nil, fmt.Errorf("decoding object: %w", err)
	}
	return u, nil
}
