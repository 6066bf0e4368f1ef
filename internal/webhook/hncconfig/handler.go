package hncconfig

import (
	"context"
	"encoding/json"
	"net/http"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

// Path is where the webhook is served.
const Path = "/validate-hncconfigurations"

// failurePolicy=fail: HNCConfiguration is Canopy's own cluster-scoped
// singleton, so an outage blocks only edits of it, and letting an
// unchecked mode change through could overwrite users' objects.
//
// +kubebuilder:webhook:path=/validate-hncconfigurations,mutating=false,failurePolicy=fail,sideEffects=None,groups=hnc.x-k8s.io,resources=hncconfigurations,verbs=create;update,versions=v1alpha2,name=hncconfigurations.hnc.x-k8s.io,admissionReviewVersions=v1,timeoutSeconds=5

// Handler serves the HNCConfiguration webhook.
type Handler struct {
	Forest  *forest.Forest
	Current Current
	Config  policy.Config
	Modes   policy.ModeOptions
}

// Register serves h on the manager's webhook server.
func Register(mgr ctrl.Manager, h *Handler) {
	mgr.GetWebhookServer().Register(Path, &webhook.Admission{Handler: h})
}

// Handle decodes the HNCConfiguration and decides, reading the forest
// under its lock.
func (h *Handler) Handle(_ context.Context, req admission.Request) admission.Response {
	cfg := &api.HNCConfiguration{}
	if err := json.Unmarshal(req.Object.Raw, cfg); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	find := func(gvk schema.GroupVersionKind, mode api.SynchronizationMode) []*policy.ConflictError {
		h.Forest.Lock()
		defer h.Forest.Unlock()
		return policy.FindConflicts(h.Forest, gvk, mode, h.Config)
	}
	if msg := Decide(cfg, h.Modes, h.Current, find); msg != "" {
		return admission.Denied(msg)
	}
	return admission.Allowed("")
}
