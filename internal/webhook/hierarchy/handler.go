package hierarchy

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
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
	policy "github.com/canopyhq/canopy/internal/propagation"
)

// Path is where the validator is served.
const Path = "/validate-hnc-x-k8s-io-v1alpha2-hierarchyconfigurations"

// WebhookName is the webhook's name in its configuration.
const WebhookName = "hierarchyconfigurations.validate.canopy.dev"

// The validator fails closed (Fail): a HierarchyConfiguration is how a
// namespace joins, leaves or moves within a tree, and letting a cycle or an
// unauthorized move through would be worse than delaying it. No
// namespaceSelector, since the namespace it is written in is often not in
// a tree yet. One match condition: deleting one with no spec.parent is not
// sent, because it changes no parent (DecideDelete allows it with no
// check), and a namespace that left its tree keeps such a one, which the
// namespace controller must delete for the namespace to go; during an
// outage that deletion would otherwise fail and hold the namespace in
// Terminating outside every tree.
//
// +kubebuilder:webhook:path=/validate-hnc-x-k8s-io-v1alpha2-hierarchyconfigurations,mutating=false,failurePolicy=fail,sideEffects=NoneOnDryRun,groups=hnc.x-k8s.io,resources=hierarchyconfigurations,verbs=create;update;delete,versions=v1alpha2,name=hierarchyconfigurations.validate.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"matchConditions":[{"name":"not-a-parentless-delete","expression":"request.operation != 'DELETE' || (has(oldObject.spec) && has(oldObject.spec.parent) && oldObject.spec.parent != '')"}]}`

// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// IsManager reports whether a username is Canopy's manager.
type IsManager func(ctx context.Context, username string) bool

type validator struct {
	forest    *forest.Forest
	sync      *forestsync.Syncer
	client    client.Client
	isManager IsManager
	decoder   admission.Decoder
	// reader reads the HierarchyConfiguration CRD on deletions (uncached).
	reader client.Reader
	// kinds lists the propagated kinds for the overwrite check of moves;
	// propagation is the policy deciding which sources propagate.
	kinds       func(ctx context.Context) ([]PropagatedKind, error)
	propagation policy.Config
	// quota, if set, judges a move against the quotas of the new parent's
	// tree (QuotaMoves).
	quota *QuotaMoves
}

// QuotaMoves holds the quota check of moves, which the quota webhooks
// provide once they are registered: Judge returns a denial, or "" to allow.
// version is the resourceVersion of the HierarchyConfiguration the move
// changes ("" for a create).
// A nil Judge allows every move, as when quotas are off.
type QuotaMoves struct {
	Judge func(ctx context.Context, ns, parent, version string, dryRun bool) (string, error)
}

// WithQuotaMoves refuses moves that would take a quota of the new parent's
// tree over its limit.
func WithQuotaMoves(q *QuotaMoves) Option {
	return func(v *validator) { v.quota = q }
}

// Option configures the validator.
type Option func(*validator)

// WithPropagationConfig sets the propagation policy (the manager's
// --nopropagation-label and similar flags) that the overwrite check of
// moves applies; without it the check uses policy.DefaultConfig, which may
// count a source excluded only by such a flag as one that would overwrite.
func WithPropagationConfig(cfg policy.Config) Option {
	return func(v *validator) { v.propagation = cfg }
}

// Handle validates a create, update or delete.
func (v *validator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation == admissionv1.Delete {
		return v.handleDelete(ctx, req)
	}
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return admission.Allowed("")
	}
	r := Request{New: &api.HierarchyConfiguration{}, FromManager: v.isManager(ctx, req.UserInfo.Username)}
	if err := v.decoder.DecodeRaw(req.Object, r.New); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if len(req.OldObject.Raw) > 0 {
		r.Old = &api.HierarchyConfiguration{}
		if err := v.decoder.DecodeRaw(req.OldObject, r.Old); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
	}
	if r.FromManager {
		return admission.Allowed("")
	}
	if !v.sync.Loaded() {
		return admission.Denied(forestsync.ErrNotLoaded.Error())
	}
	oldParent, version := "", ""
	if r.Old != nil {
		oldParent, version = r.Old.Spec.Parent, r.Old.ResourceVersion
	}
	var kinds []PropagatedKind
	moving := r.New.Spec.Parent != oldParent && r.New.Spec.Parent != ""
	if moving && v.kinds != nil {
		var err error
		if kinds, err = v.kinds(ctx); err != nil {
			return admission.Errored(http.StatusInternalServerError, fmt.Errorf("reading the propagated types: %w", err))
		}
	}
	v.forest.Lock()
	why := Decide(v.forest, r)
	if why == "" {
		if conflicts := MoveConflicts(v.forest, r.New.Namespace, r.New.Spec.Parent, kinds, v.propagation); len(conflicts) > 0 {
			why = overwriteMessage(r.New.Namespace, r.New.Spec.Parent, conflicts)
		}
	}
	var checks []string
	if why == "" {
		checks = AuthzNamespaces(v.forest, r.New.Namespace, oldParent, r.New.Spec.Parent)
	}
	v.forest.Unlock()
	if why != "" {
		return admission.Denied(why)
	}
	denied, err := v.deniedIn(ctx, req.UserInfo, checks)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if len(denied) > 0 {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied move", "namespace", r.New.Namespace, "user", req.UserInfo.Username, "missing", denied)
		return admission.Denied(fmt.Sprintf("user %q may not move namespace %q from %q to %q: it needs permission to update the HierarchyConfiguration in %s", req.UserInfo.Username, r.New.Namespace, oldParent, r.New.Spec.Parent, quoteAll(denied)))
	}
	// Last, once the user may move it: the check reads live and may
	// revoke grants.
	if moving && v.quota != nil && v.quota.Judge != nil {
		why, err := v.quota.Judge(ctx, r.New.Namespace, r.New.Spec.Parent, version, req.DryRun != nil && *req.DryRun)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if why != "" {
			return admission.Denied(why)
		}
	}
	return admission.Allowed("")
}

// handleDelete validates a delete, which makes the namespace a root (see
// DecideDelete). The manager, the namespace controller emptying a
// terminating namespace and the API server deleting every
// HierarchyConfiguration with their CRD (an uninstall) pass.
func (v *validator) handleDelete(ctx context.Context, req admission.Request) admission.Response {
	if v.isManager(ctx, req.UserInfo.Username) {
		return admission.Allowed("")
	}
	if v.terminating(ctx, req.Namespace) {
		return admission.Allowed("")
	}
	if v.reader != nil {
		uninstall, err := crdstate.Deleting(ctx, v.reader, crdstate.HierarchyConfigurations)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if uninstall {
			return admission.Allowed("the HierarchyConfiguration CRD is being deleted")
		}
	}
	if !v.sync.Loaded() {
		return admission.Denied(forestsync.ErrNotLoaded.Error())
	}
	v.forest.Lock()
	why, checks := DecideDelete(v.forest, req.Namespace)
	v.forest.Unlock()
	if why != "" {
		return admission.Denied(why)
	}
	denied, err := v.deniedIn(ctx, req.UserInfo, checks)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if len(denied) > 0 {
		return admission.Denied(fmt.Sprintf("user %q may not delete the HierarchyConfiguration of %q, which makes it a root: it needs permission to update the HierarchyConfiguration in %s", req.UserInfo.Username, req.Namespace, quoteAll(denied)))
	}
	return admission.Allowed("")
}

// deniedIn returns the namespaces of checks in which the user may not
// update the HierarchyConfiguration, asking the API server for each.
func (v *validator) deniedIn(ctx context.Context, u authnv1.UserInfo, checks []string) ([]string, error) {
	var denied []string
	for _, nm := range checks {
		ok, err := v.allowed(ctx, u, nm)
		if err != nil {
			return nil, err
		}
		if !ok {
			denied = append(denied, nm)
		}
	}
	return denied, nil
}

// terminating reports whether namespace nm is being deleted, asking the
// API server when the cache (which may lag the namespace controller) says
// it is not.
func (v *validator) terminating(ctx context.Context, nm string) bool {
	ns := &corev1.Namespace{}
	err := v.client.Get(ctx, client.ObjectKey{Name: nm}, ns)
	if (err == nil && ns.DeletionTimestamp != nil) || v.reader == nil {
		return apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil)
	}
	err = v.reader.Get(ctx, client.ObjectKey{Name: nm}, ns)
	return apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil)
}

// allowed asks the API server whether user may update the
// HierarchyConfiguration in nm. The review is not stored; it is the only
// API call this webhook makes.
func (v *validator) allowed(ctx context.Context, user authnv1.UserInfo, nm string) (bool, error) {
	extra := map[string]authzv1.ExtraValue{}
	for k, val := range user.Extra {
		extra[k] = authzv1.ExtraValue(val)
	}
	sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: user.Username, Groups: user.Groups, UID: user.UID, Extra: extra,
		ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: nm, Verb: "update", Group: api.GroupVersion.Group, Resource: api.HierarchyConfigurations, Name: api.Singleton,
		},
	}}
	if err := v.client.Create(ctx, sar); err != nil {
		return false, fmt.Errorf("checking access of %q in %q: %w", user.Username, nm, err)
	}
	return sar.Status.Allowed, nil
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " and ")
}

// Register serves the validator. The propagated kinds for the overwrite
// check of moves come from HNCConfiguration's status, read through the
// manager's cache.
func Register(mgr ctrl.Manager, f *forest.Forest, s *forestsync.Syncer, isManager IsManager, opts ...Option) {
	v := &validator{
		forest: f, sync: s, client: mgr.GetClient(), isManager: isManager, decoder: admission.NewDecoder(mgr.GetScheme()),
		reader: mgr.GetAPIReader(), propagation: policy.DefaultConfig(),
	}
	v.kinds = func(ctx context.Context) ([]PropagatedKind, error) {
		return configKinds(ctx, mgr.GetClient(), mgr.GetRESTMapper())
	}
	for _, o := range opts {
		o(v)
	}
	mgr.GetWebhookServer().Register(Path, &webhook.Admission{Handler: v})
}
