package quota

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/metrics"
	"github.com/canopyhq/canopy/internal/quota"
)

// The manager corrects stale recounts by writing a singleton's status, and
// checks them against live lists of what they count.
// +kubebuilder:rbac:groups="",resources=resourcequotas/status,verbs=update
// +kubebuilder:rbac:groups="",resources=services;persistentvolumeclaims,verbs=list
// +kubebuilder:rbac:groups="",resources=secrets,verbs=list

// recount judges a status write from outside admission: the quota
// controller of kube-controller-manager recounting usage from its informer
// cache.
//
//   - Growth (objects it found that admission did not charge, as when a
//     singleton is new) is allowed and recorded in the ledger without a
//     decision, so that a replica whose informer still shows the older,
//     lower usage counts it (quota.Record).
//   - A lowered name is checked against a live read of what it counts
//     (quota's recount doc): the recount is refused only if it is below
//     what exists, and the controller retries with a fresher cache.
//     Pods, object counts, services' load balancers and node ports, and
//     claims' storage (in all and per storage class) are read live. Names
//     that cannot be (non-pod names under a scope, custom resources the
//     manager may not list) are not judged: the recount is trusted for
//     them, as a plain ResourceQuota trusts it.
func (h *StatusHandler) recount(ctx context.Context, req admission.Request, prev, next *corev1.ResourceQuota) admission.Response {
	dryRun := req.DryRun != nil && *req.DryRun
	if quota.Grows(prev.Status.Used, next.Status.Used) && !dryRun {
		if h.Loaded != nil && !h.Loaded() {
			// The tree, and so the ledger to record in, is not known yet.
			return admission.Denied("Canopy is starting: the namespace hierarchy has not finished loading; retry in a few seconds")
		}
		r := quota.Reservation{Namespace: next.Namespace, Scope: quota.ScopeKey(next.Spec.ScopeSelector),
			Base: quota.ParseRV(prev.ResourceVersion), Old: prev.Status.Used, New: next.Status.Used}
		err := h.casLedger(ctx, next.Namespace, func(_ ctrlquota.TreeView, l *quota.Ledger, _ reads) (*quota.Ledger, error) {
			return quota.Record(l, r), nil
		})
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
	}
	lowered := quota.Lowered(prev.Status.Used, next.Status.Used)
	if len(lowered) == 0 {
		return admission.Allowed("recount does not lower usage")
	}
	if !dryRun && !isRelease(req) {
		// See "Charged creations not yet stored" (stored.go).
		if err := h.awaitStored(ctx, prev); err != nil {
			return admission.Denied(err.Error())
		}
	}
	if h.Live != nil {
		live, err := h.liveUsage(ctx, next, lowered, false)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if msg := quota.StaleRecount(lowered, next.Status.Used, live); msg != "" {
			ctrl.LoggerFrom(ctx).V(1).Info("Refused a stale quota recount", "namespace", next.Namespace, "reason", msg)
			if !dryRun {
				h.correct(ctx, prev, next, live)
			}
			return admission.Denied(msg)
		}
	}
	if !dryRun {
		if err := h.markLowered(ctx, prev); err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		h.unclamp(ctx, next)
	}
	return admission.Allowed("")
}

// markLowered records in the ledger, before a recount that lowers the
// singleton's usage is allowed, the version it lowers from, so that
// refusals decided on cached singletons know whether they show it
// (quota.RecordLowered). A singleton outside any tree's ledger (the forest
// has not loaded, or its namespace left) has nothing to mark.
func (h *StatusHandler) markLowered(ctx context.Context, prev *corev1.ResourceQuota) error {
	if h.Loaded != nil && !h.Loaded() {
		return errors.New("the namespace hierarchy has not finished loading; retry in a few seconds")
	}
	k := quota.Key{Namespace: prev.Namespace, Scope: quota.ScopeKey(prev.Spec.ScopeSelector)}
	base := quota.ParseRV(prev.ResourceVersion)
	return h.casLedger(ctx, prev.Namespace, func(_ ctrlquota.TreeView, l *quota.Ledger, _ reads) (*quota.Ledger, error) {
		return quota.RecordLowered(l, k, base), nil
	})
}

// correct records, in place of a stale recount it refused, the recount with
// every name it could read live raised to the live count (quota.Corrected),
// as of the same version of the singleton. Refusing alone would leave the
// usage the recount rightly lowered (deleted pods) counted until the
// controller, backing off exponentially, recounts from a cache that has
// caught up, which in a namespace creating pods without pause may be never.
// It runs after the response (the API server is waiting for it), once no
// admission of the namespace has been judged here for Quiet (an admission
// in flight would conflict with it, see ctrlquota.Admissions), and is best
// effort: on a conflict the singleton changed, and the next recount
// decides again. The write passes this webhook as a recount, and is checked
// like any other.
func (h *StatusHandler) correct(ctx context.Context, prev, next *corev1.ResourceQuota, live corev1.ResourceList) {
	fixed := prev.DeepCopy()
	fixed.Status.Used = quota.Corrected(next.Status.Used, live)
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reserveTimeout)
		defer cancel()
		log := ctrl.LoggerFrom(ctx).WithValues("namespace", fixed.Namespace, "resourcequota", fixed.Name)
		if err := h.awaitQuiet(ctx, fixed.Namespace); err != nil {
			log.V(1).Info("Not correcting a stale quota recount: its namespace stayed busy", "reason", err.Error())
			return
		}
		if err := h.Ledgers.Client.Status().Update(ctx, fixed); err != nil {
			if apierrors.IsConflict(err) {
				metrics.Conflict("quota-status-webhook", "resourcequotas")
			}
			log.V(1).Info("Not correcting a stale quota recount", "reason", err.Error())
			return
		}
		log.V(1).Info("Corrected a stale quota recount", "used", quota.String(fixed.Status.Used))
	}()
}

// awaitQuiet returns once no admission of ns has been judged here for
// Quiet, or ctx's error when it ends first.
func (h *StatusHandler) awaitQuiet(ctx context.Context, ns string) error {
	quiet := h.Quiet
	if quiet <= 0 {
		quiet = ctrlquota.DefaultQuiet
	}
	for {
		wait := h.Admissions.QuietIn(ns, quiet)
		if wait == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// liveUsage reads, straight from the API server, what each lowered name
// counts in the singleton's namespace; names it cannot read are left out.
// Pods count what they request at most (quota.PodUsage), or, with atLeast,
// at least (quota.PodUsageAtLeast).
func (h *StatusHandler) liveUsage(ctx context.Context, rq *corev1.ResourceQuota, lowered []corev1.ResourceName, atLeast bool) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	var podNames, serviceNames, claimNames []corev1.ResourceName
	for _, r := range lowered {
		switch {
		case quota.IsPodResource(r):
			podNames = append(podNames, r)
			continue
		case rq.Spec.ScopeSelector != nil:
			continue
		case quota.IsServiceResource(r):
			serviceNames = append(serviceNames, r)
			continue
		case quota.IsClaimResource(r):
			claimNames = append(claimNames, r)
			continue
		}
		res, ok := quota.CountedResource(r)
		if !ok {
			continue
		}
		n, ok, err := h.countObjects(ctx, rq.Namespace, res)
		if err != nil {
			return nil, err
		}
		if ok {
			out[r] = *resource.NewQuantity(n, resource.DecimalSI)
		}
	}
	if len(serviceNames) > 0 {
		var svcs corev1.ServiceList
		if ok, err := h.liveList(ctx, &svcs, rq.Namespace, "services"); err != nil {
			return nil, err
		} else if ok {
			used := quota.ServiceUsage(svcs.Items)
			for _, r := range serviceNames {
				out[r] = used[r].DeepCopy()
			}
		}
	}
	if len(claimNames) > 0 {
		var claims corev1.PersistentVolumeClaimList
		if ok, err := h.liveList(ctx, &claims, rq.Namespace, "persistentvolumeclaims"); err != nil {
			return nil, err
		} else if ok {
			used := quota.ClaimUsage(claims.Items)
			for _, r := range claimNames {
				out[r] = used[r].DeepCopy()
			}
		}
	}
	if len(podNames) == 0 {
		return out, nil
	}
	var pods corev1.PodList
	if err := h.Live.List(ctx, &pods, client.InNamespace(rq.Namespace)); err != nil {
		return nil, fmt.Errorf("listing pods in %q to check a quota recount: %w", rq.Namespace, err)
	}
	count := quota.PodUsage
	if atLeast {
		count = quota.PodUsageAtLeast
	}
	used, ok := count(pods.Items, rq.Spec.ScopeSelector, h.now())
	if !ok {
		return out, nil
	}
	for _, r := range podNames {
		out[r] = used[r].DeepCopy()
	}
	return out, nil
}

// liveList lists objects of a kind in ns straight from the API server. ok
// is false when the manager may not list them: the recount is trusted for
// what they count.
func (h *StatusHandler) liveList(ctx context.Context, list client.ObjectList, ns, res string) (bool, error) {
	if err := h.Live.List(ctx, list, client.InNamespace(ns)); err != nil {
		if apierrors.IsForbidden(err) {
			return false, nil
		}
		return false, fmt.Errorf("listing %s in %q to check a quota recount: %w", res, ns, err)
	}
	return true, nil
}

// countObjects counts the objects of an API resource ("secrets",
// "widgets.example.com") in ns with a metadata-only live List. ok is false
// when the resource is not known to the API server.
func (h *StatusHandler) countObjects(ctx context.Context, ns, res string) (int64, bool, error) {
	if h.Mapper == nil {
		return 0, false, nil
	}
	name, group, _ := strings.Cut(res, ".")
	gvk, err := h.Mapper.KindFor(schema.GroupVersionResource{Group: group, Resource: name})
	if err != nil {
		return 0, false, nil
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := h.Live.List(ctx, list, client.InNamespace(ns)); err != nil {
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			// The manager may not list these (a custom resource its
			// role does not name): the recount is trusted for this name.
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("listing %s in %q to check a quota recount: %w", res, ns, err)
	}
	return int64(len(list.Items)), true, nil
}
