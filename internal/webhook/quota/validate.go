package quota

import (
	"context"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
)

// Paths of the quota validating webhooks.
const (
	HQPath  = "/validate-hierarchicalquota"
	HRQPath = "/validate-hierarchicalresourcequota"
)

// Both fail closed: they guard Canopy's own objects only, so an outage
// blocks nothing but creating or changing quotas, and an invalid quota that
// slipped in would be enforced as written.
// +kubebuilder:webhook:path=/validate-hierarchicalquota,mutating=false,failurePolicy=fail,sideEffects=None,groups=tenancy.canopy.dev,resources=hierarchicalquotas,verbs=create;update,versions=v1alpha1,name=hierarchicalquotas.quota.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-hierarchicalresourcequota,mutating=false,failurePolicy=fail,sideEffects=None,groups=hnc.x-k8s.io,resources=hierarchicalresourcequotas,verbs=create;update,versions=v1alpha2,name=hierarchicalresourcequotas.quota.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5

// ValidateHQ decides a HierarchicalQuota against the other quotas of its
// tree (others must not contain the candidate itself).
func ValidateHQ(v ctrlquota.TreeView, others []quota.Quota, q *tenancyv1.HierarchicalQuota) (field.ErrorList, []string) {
	snap := quota.NewSnapshot(v.Tree, others, nil)
	return quota.ValidateHierarchicalQuota(snap, quota.FromHierarchicalQuota(q))
}

// HQHandler validates HierarchicalQuotas.
type HQHandler struct {
	Forest  *forest.Forest
	Cache   client.Reader
	Loaded  func() bool
	Decoder admission.Decoder
}

// Handle validates one create or update.
func (h *HQHandler) Handle(ctx context.Context, req admission.Request) admission.Response {
	q := &tenancyv1.HierarchicalQuota{}
	if err := h.Decoder.Decode(req, q); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if h.Loaded != nil && !h.Loaded() {
		return admission.Denied("Canopy is starting: the namespace hierarchy has not finished loading; retry in a few seconds")
	}
	v := ctrlquota.TreeOf(h.Forest, req.Namespace)
	tq, err := ctrlquota.ReadQuotas(ctx, h.Cache, v)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	var others []quota.Quota
	for _, o := range tq.Engine() {
		if o.Kind == quota.KindHierarchicalQuota && o.Namespace == q.Namespace && o.Name == q.Name {
			continue
		}
		others = append(others, o)
	}
	errs, warnings := ValidateHQ(v, others, q)
	return invalid(tenancyv1.GroupVersion.WithKind("HierarchicalQuota").GroupKind(), q.Name, errs).WithWarnings(warnings...)
}

// HRQHandler validates HierarchicalResourceQuotas with HNC's rules.
type HRQHandler struct {
	Decoder admission.Decoder
}

// Handle validates one create or update.
func (h *HRQHandler) Handle(_ context.Context, req admission.Request) admission.Response {
	hrq := &hncv1.HierarchicalResourceQuota{}
	if err := h.Decoder.Decode(req, hrq); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	errs := quota.ValidateHard(quota.FromHRQ(hrq))
	return invalid(hncv1.GroupVersion.WithKind("HierarchicalResourceQuota").GroupKind(), hrq.Name, errs)
}

// invalid turns field errors into an admission response that reads like
// the API server's own validation failure.
func invalid(gk schema.GroupKind, name string, errs field.ErrorList) admission.Response {
	if len(errs) == 0 {
		return admission.Allowed("")
	}
	st := apierrors.NewInvalid(gk, name, errs).ErrStatus
	return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: &st}}
}
