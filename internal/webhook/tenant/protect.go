package tenant

import (
	"context"
	"fmt"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/internal/crdstate"
	"github.com/canopyhq/canopy/internal/forestsync"
)

// The anchor validator fails closed (Fail). It is selected on every
// anchor rather than on namespaces carrying the tenant label: a
// subnamespace created a moment ago carries no tenant label until the
// Tenant controller has labelled it, and an anchor created in it then
// would escape the cap. That widens no blast radius: the hierarchy
// engine's own anchor webhook already fails closed on every anchor, and
// anchors outside tenants are allowed after a lookup in the forest.
// Failing open would let a tree grow past the cap the platform team set.
// Under a cap it reserves the new namespace's slot in the tenant's ledger
// (see reserveSlot).
//
// On delete it keeps the anchors of the namespaces the platform team
// declared in spec.namespaces: deleting one would delete the namespace and
// everything in it, and the Tenant would recreate it empty. The manager's
// own deletions, the namespace controller emptying a terminating namespace
// and the API server deleting every anchor with their CRD (an uninstall)
// are allowed, so neither a Tenant's teardown nor an uninstall wedges.
//
// +kubebuilder:webhook:path=/validate-tenant-anchors,mutating=false,failurePolicy=fail,sideEffects=None,groups=hnc.x-k8s.io,resources=subnamespaceanchors,verbs=create;delete,versions=v1alpha2,name=tenant-anchors.tenancy.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5

type anchorValidator struct{ d Deps }

// Handle enforces spec.subnamespaces on anchors users create, and keeps
// declared namespaces' anchors from users' deletes.
func (v *anchorValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	if v.d.IsManager(ctx, req.UserInfo.Username) {
		return admission.Allowed("")
	}
	if req.Operation == admissionv1.Delete {
		return v.handleDelete(ctx, req)
	}
	t, resp := v.d.treeTenant(ctx, req.Namespace)
	if t == nil {
		return resp
	}
	if s := t.Spec.Subnamespaces; s == nil || s.Max == 0 {
		if why := DecideAnchor(t, 0); why != "" {
			return admission.Denied(why)
		}
		return admission.Allowed("")
	}
	why, err := v.d.reserveSlot(ctx, t, req.Name, req.DryRun != nil && *req.DryRun)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if why != "" {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied anchor", "anchor", req.Namespace+"/"+req.Name, "reason", why)
		return admission.Denied(why)
	}
	return admission.Allowed("")
}

// handleDelete denies a user's delete of the anchor of a namespace the
// Tenant declares.
func (v *anchorValidator) handleDelete(ctx context.Context, req admission.Request) admission.Response {
	if v.d.terminating(ctx, req.Namespace) {
		return admission.Allowed("")
	}
	uninstall, err := v.d.crdDeleting(ctx, crdstate.Anchors)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if uninstall {
		return admission.Allowed("the SubnamespaceAnchor CRD is being deleted")
	}
	t, resp := v.d.treeTenant(ctx, req.Namespace)
	if t == nil {
		return resp
	}
	if why := DecideAnchorDelete(t, req.Name); why != "" {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied anchor deletion", "anchor", req.Namespace+"/"+req.Name, "reason", why)
		return admission.Denied(why)
	}
	return admission.Allowed("")
}

// crdDeleting reports whether the CRD named name is being deleted, read
// from the API server.
func (d Deps) crdDeleting(ctx context.Context, name string) (bool, error) {
	return crdstate.Deleting(ctx, d.API, name)
}

// The protector fails closed (Fail): it is selected only on namespaces
// carrying the tenant label (and, for RoleBindings, NetworkPolicies and
// LimitRanges, only on objects carrying the generated-by label), so an
// outage blocks only edits to what a Tenant controls, while failing open
// would let a team lead raise the tenant quota or drop its guardrails.
//
// +kubebuilder:webhook:path=/validate-tenant-protect,mutating=false,failurePolicy=fail,sideEffects=None,groups=hnc.x-k8s.io,resources=hierarchyconfigurations,verbs=create;update;delete,versions=v1alpha2,name=tenant-hierarchy.tenancy.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"tenancy.canopy.dev/tenant","operator":"Exists"}]}}`
// +kubebuilder:webhook:path=/validate-tenant-protect,mutating=false,failurePolicy=fail,sideEffects=None,groups=tenancy.canopy.dev,resources=hierarchicalquotas,verbs=create;update;delete,versions=v1alpha1,name=tenant-quota.tenancy.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"tenancy.canopy.dev/tenant","operator":"Exists"}]}}`
// +kubebuilder:webhook:path=/validate-tenant-protect,mutating=false,failurePolicy=fail,sideEffects=None,groups=rbac.authorization.k8s.io;networking.k8s.io;"",resources=rolebindings;networkpolicies;limitranges,verbs=create;update;delete,versions=v1,name=tenant-generated.tenancy.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5,patch=`{"namespaceSelector":{"matchExpressions":[{"key":"tenancy.canopy.dev/tenant","operator":"Exists"}]},"objectSelector":{"matchExpressions":[{"key":"tenancy.canopy.dev/generated-by","operator":"Exists"}]}}`

type protector struct {
	d       Deps
	decoder admission.Decoder
}

// Handle keeps what the Tenant generates under the manager's control.
func (p *protector) Handle(ctx context.Context, req admission.Request) admission.Response {
	if p.d.IsManager(ctx, req.UserInfo.Username) {
		return admission.Allowed("")
	}
	// The namespace controller empties terminating namespaces.
	if req.Operation == admissionv1.Delete && p.d.terminating(ctx, req.Namespace) {
		return admission.Allowed("")
	}
	var why string
	switch req.Kind.Kind {
	case "HierarchyConfiguration":
		if req.Operation == admissionv1.Delete {
			return p.hierarchyDelete(ctx, req)
		}
		nw, old := &hncv1.HierarchyConfiguration{}, &hncv1.HierarchyConfiguration{}
		if err := p.decoder.DecodeRaw(req.Object, nw); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if len(req.OldObject.Raw) > 0 {
			if err := p.decoder.DecodeRaw(req.OldObject, old); err != nil {
				return admission.Errored(http.StatusBadRequest, err)
			}
		}
		p.d.Forest.Lock()
		c := HierarchyChange{
			Namespace: req.Namespace, Tenant: tenantOf(p.d.Forest, req.Namespace),
			OldParent: old.Spec.Parent, NewParent: nw.Spec.Parent,
			NewParentTenant: tenantOf(p.d.Forest, nw.Spec.Parent),
		}
		p.d.Forest.Unlock()
		if len(req.OldObject.Raw) == 0 {
			// A new HierarchyConfiguration: its parent is the forest's.
			p.d.Forest.Lock()
			if ns := p.d.Forest.Lookup(req.Namespace); ns != nil && ns.Parent() != nil {
				c.OldParent = ns.Parent().Name()
			}
			p.d.Forest.Unlock()
		}
		why = DecideHierarchy(c)
		if why == "" && nw.Spec.AllowCascadingDeletion && !old.Spec.AllowCascadingDeletion {
			t, resp := p.d.tenantFor(ctx, req.Namespace)
			if t == nil {
				return resp
			}
			why = DecideCascading(t, req.Namespace, old.Spec.AllowCascadingDeletion, nw.Spec.AllowCascadingDeletion)
		}
	case "HierarchicalQuota":
		t, resp := p.d.tenantFor(ctx, req.Namespace)
		if t == nil {
			return resp
		}
		q := &tenancyv1.HierarchicalQuota{}
		raw := req.Object
		if req.Operation == admissionv1.Delete {
			raw = req.OldObject
		}
		if err := p.decoder.DecodeRaw(raw, q); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		why = DecideQuota(t, req.Name, q.Spec.Hard, req.Operation == admissionv1.Delete)
	default:
		u := &unstructured.Unstructured{}
		raw := req.Object
		if len(raw.Raw) == 0 {
			raw = req.OldObject
		}
		if err := u.UnmarshalJSON(raw.Raw); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		generatedBy := u.GetLabels()[tenantctrl.LabelGenerated]
		if req.Operation != admissionv1.Create && len(req.OldObject.Raw) > 0 {
			old := &unstructured.Unstructured{}
			if err := old.UnmarshalJSON(req.OldObject.Raw); err == nil && old.GetLabels()[tenantctrl.LabelGenerated] != "" {
				generatedBy = old.GetLabels()[tenantctrl.LabelGenerated]
			}
		}
		why = DecideGenerated(req.Kind.Kind, req.Name, generatedBy)
	}
	if why != "" {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied write to tenant-controlled object", "kind", req.Kind.Kind, "object", req.Namespace+"/"+req.Name, "reason", why)
		return admission.Denied(why)
	}
	return admission.Allowed("")
}

// hierarchyDelete judges a user's delete of a HierarchyConfiguration in a
// tenant's tree: it would make the namespace a root, so it is the move to
// no parent that DecideHierarchy refuses. The API server deleting every
// HierarchyConfiguration with their CRD (an uninstall) passes.
func (p *protector) hierarchyDelete(ctx context.Context, req admission.Request) admission.Response {
	uninstall, err := p.d.crdDeleting(ctx, crdstate.HierarchyConfigurations)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	if uninstall {
		return admission.Allowed("the HierarchyConfiguration CRD is being deleted")
	}
	if !p.d.Sync.Loaded() {
		return admission.Denied(forestsync.ErrNotLoaded.Error())
	}
	p.d.Forest.Lock()
	c := HierarchyChange{Namespace: req.Namespace, Tenant: tenantOf(p.d.Forest, req.Namespace)}
	if n := p.d.Forest.Lookup(req.Namespace); n.Parent() != nil {
		c.OldParent = n.Parent().Name()
	}
	p.d.Forest.Unlock()
	if why := DecideHierarchyDelete(c); why != "" {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied HierarchyConfiguration deletion", "namespace", req.Namespace, "reason", why)
		return admission.Denied(why)
	}
	return admission.Allowed("")
}

// tenantFor returns the Tenant owning namespace ns, or nil and the answer
// to give: allowed when ns belongs to no (live) Tenant.
func (d Deps) tenantFor(ctx context.Context, ns string) (*tenancyv1.Tenant, admission.Response) {
	if !d.Sync.Loaded() {
		return nil, admission.Denied("the namespace hierarchy has not loaded yet; retry shortly")
	}
	d.Forest.Lock()
	name := tenantOf(d.Forest, ns)
	d.Forest.Unlock()
	return d.liveTenant(ctx, name)
}

// treeTenant returns the live Tenant whose tree holds namespace ns, or nil
// and the answer to give. It follows the forest's parents up to a
// namespace carrying the tenant label and, where the forest has not linked
// a subnamespace to its parent yet, the subnamespace-of annotation, so a
// namespace created a moment ago is judged like the rest of its tree.
func (d Deps) treeTenant(ctx context.Context, ns string) (*tenancyv1.Tenant, admission.Response) {
	if !d.Sync.Loaded() {
		return nil, admission.Denied("the namespace hierarchy has not loaded yet; retry shortly")
	}
	name := ""
	seen := map[string]bool{}
	for cur := ns; cur != "" && !seen[cur] && name == ""; {
		seen[cur] = true
		d.Forest.Lock()
		n := d.Forest.Lookup(cur)
		name = tenantOf(d.Forest, cur)
		next := ""
		if p := n.Parent(); p != nil {
			next = p.Name()
		}
		d.Forest.Unlock()
		if name == "" && next == "" {
			var err error
			if next, err = d.subnamespaceOf(ctx, cur); err != nil {
				return nil, admission.Errored(http.StatusInternalServerError, err)
			}
		}
		cur = next
	}
	return d.liveTenant(ctx, name)
}

// liveTenant returns the Tenant named name, or nil and Allowed when there
// is none to guard (no name, not found, or being deleted).
func (d Deps) liveTenant(ctx context.Context, name string) (*tenancyv1.Tenant, admission.Response) {
	if name == "" {
		return nil, admission.Allowed("")
	}
	t := &tenancyv1.Tenant{}
	if err := d.Cache.Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, admission.Allowed("")
		}
		return nil, admission.Errored(http.StatusInternalServerError, err)
	}
	if t.DeletionTimestamp != nil {
		return nil, admission.Allowed("")
	}
	return t, admission.Response{}
}

// subnamespaceOf returns the subnamespace-of annotation of namespace ns,
// reading the API server when the cache has not seen ns yet.
func (d Deps) subnamespaceOf(ctx context.Context, ns string) (string, error) {
	n := &corev1.Namespace{}
	err := d.Cache.Get(ctx, client.ObjectKey{Name: ns}, n)
	if apierrors.IsNotFound(err) {
		err = d.API.Get(ctx, client.ObjectKey{Name: ns}, n)
	}
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading namespace %q: %w", ns, err)
	}
	return n.Annotations[hncv1.SubnamespaceOf], nil
}

// terminating reports whether namespace ns is being deleted. The cache
// may lag the namespace controller, which empties a namespace right after
// marking it, so a "no" from the cache is checked with the API server.
func (d Deps) terminating(ctx context.Context, ns string) bool {
	n := &corev1.Namespace{}
	err := d.Cache.Get(ctx, client.ObjectKey{Name: ns}, n)
	if (err == nil && n.DeletionTimestamp != nil) || d.API == nil {
		return apierrors.IsNotFound(err) || (err == nil && n.DeletionTimestamp != nil)
	}
	if err := d.API.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
		return apierrors.IsNotFound(err)
	}
	return n.DeletionTimestamp != nil
}
