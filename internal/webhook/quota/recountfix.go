package quota

import (
	"context"
	"encoding/json"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// RecountPath is where the recount mutator is served.
const RecountPath = "/mutate-quota-singleton-status"

// The mutator corrects a stale recount inside the recount's own write, so
// that Canopy does not write the singleton a second time (see
// RecountFixer). It sees only writers other than the API server's quota
// admission (a match condition, evaluated without calling out), so pod
// admission never waits for it, and it fails open (Ignore): the status
// validator, which fails closed, still refuses a stale recount it did not
// correct.
// +kubebuilder:webhook:path=/mutate-quota-singleton-status,mutating=true,failurePolicy=ignore,sideEffects=None,groups="",resources=resourcequotas/status,verbs=update,versions=v1,name=singleton-recount.quota.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"objectSelector":{"matchLabels":{"canopy.dev/quota-singleton":"true"}},"namespaceSelector":{"matchLabels":{"canopy.dev/in-tree":"true"}},"matchConditions":[{"name":"not-quota-admission","expression":"request.userInfo.username != 'system:apiserver'"}]}`

// RecountFixer raises, in a recount of a singleton's status.used (the quota
// controller of kube-controller-manager, or the leader's replenishment),
// every name the recount lowers below what a live read shows exists to that
// live count (quota.Corrected), as the status validator's correction would.
//
// The validator refuses such a stale recount, and before this mutator it
// then wrote the corrected usage itself. That write changed the singleton
// while the API server's quota admission could be retrying a batch of
// creations in the namespace: the admission retries a conflicting write
// only three times, so the correction could make it refuse creations with
// "the object has been modified". A replica could wait only for the
// admissions it judged itself, not another replica's. Corrected in the
// recount's own write, the usage is right with no write of Canopy's.
type RecountFixer struct {
	// Status supplies the live reads (StatusHandler.liveUsage).
	Status  *StatusHandler
	Decoder admission.Decoder
}

// Handle patches a stale recount to the live counts, and allows everything
// else unchanged.
func (f *RecountFixer) Handle(ctx context.Context, req admission.Request) admission.Response {
	if IsAdmission(req.UserInfo.Username) {
		return admission.Allowed("quota admission is judged by the status validator")
	}
	next, prev := &corev1.ResourceQuota{}, &corev1.ResourceQuota{}
	if err := f.Decoder.DecodeRaw(req.Object, next); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if err := f.Decoder.DecodeRaw(req.OldObject, prev); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if !ctrlquota.IsSingleton(next.Labels) {
		return admission.Allowed("not a quota singleton")
	}
	lowered := quota.Lowered(prev.Status.Used, next.Status.Used)
	if len(lowered) == 0 {
		return admission.Allowed("recount does not lower usage")
	}
	live, err := f.Status.liveUsage(ctx, next, lowered)
	if err != nil {
		// Fail open: the validator reads again and refuses if stale.
		return admission.Allowed("live counts not read; left to the status validator")
	}
	if quota.StaleRecount(lowered, next.Status.Used, live) == "" {
		return admission.Allowed("recount matches the live counts")
	}
	fixed := next.DeepCopy()
	fixed.Status.Used = quota.Corrected(next.Status.Used, live)
	raw, err := json.Marshal(fixed)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Corrected a stale quota recount in its own write", "namespace", next.Namespace,
		"recounted", quota.String(next.Status.Used), "used", quota.String(fixed.Status.Used))
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}
