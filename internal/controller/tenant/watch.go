package tenant

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// generatedKind is a kind of object a Tenant generates, watched so that a
// hand edit or deletion is reverted at once rather than at the next resync.
type generatedKind struct {
	gvk schema.GroupVersionKind
	// hasStatus is set for kinds whose status another writer updates (the
	// quota controller, the API server's policy type checker): only changes
	// to generation, labels or annotations, creations and deletions are
	// drift there.
	hasStatus bool
}

// generatedKinds are every kind the reconciler applies under the
// generated-by label. Anchors are not here: the forest already reports
// every anchor change to the reconciler.
var generatedKinds = []generatedKind{
	{gvk: rbacv1.SchemeGroupVersion.WithKind("RoleBinding")},
	{gvk: rbacv1.SchemeGroupVersion.WithKind("ClusterRole")},
	{gvk: rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding")},
	{gvk: corev1.SchemeGroupVersion.WithKind("LimitRange")},
	{gvk: networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")},
	{gvk: tenancyv1.GroupVersion.WithKind("HierarchicalQuota"), hasStatus: true},
	{gvk: admissionv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicy"), hasStatus: true},
	{gvk: admissionv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicyBinding")},
	{gvk: admissionv1.SchemeGroupVersion.WithKind("MutatingAdmissionPolicy"), hasStatus: true},
	{gvk: admissionv1.SchemeGroupVersion.WithKind("MutatingAdmissionPolicyBinding")},
}

var namespaceGVK = corev1.SchemeGroupVersion.WithKind("Namespace")

func metadataOf(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}

// driftWatch is one source that, when the controller starts (on the
// leader, with the API server reachable), builds the cache of generated
// objects, starts it and starts the drift watches on it. Building it
// earlier would need the API server's discovery inside NewManager, so a
// manager could not even be constructed while the API server is away.
// The controller does not wait for these watches to sync: they only make
// drift reverts prompt, and every Tenant is reconciled on start anyway.
func driftWatch(mgr ctrl.Manager) source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		log := mgr.GetLogger().WithName("tenant")
		c, err := newGeneratedCache(mgr)
		if err != nil {
			return err
		}
		go func() {
			if err := c.Start(ctx); err != nil {
				log.Error(err, "The cache of generated objects stopped")
			}
		}()
		for _, src := range driftSources(c, servedBy(mgr.GetRESTMapper(), log)) {
			if err := src.Start(ctx, q); err != nil {
				return fmt.Errorf("starting a drift watch: %w", err)
			}
		}
		return nil
	})
}

// servedBy returns whether mapper knows a kind: only a definite "no
// match" counts as not served, and is logged; any other discovery error
// keeps the watch, whose failure to sync then shows.
func servedBy(mapper meta.RESTMapper, log logr.Logger) func(schema.GroupVersionKind) bool {
	return func(gvk schema.GroupVersionKind) bool {
		_, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			log.Info("Not watching generated objects of a kind the API server does not serve", "kind", gvk.String())
			return false
		}
		return true
	}
}

// newGeneratedCache builds the cache the drift watches read: metadata only,
// and only objects carrying the generated-by label (namespaces: the tenant
// label), so the manager caches neither every RoleBinding nor every
// NetworkPolicy of the cluster. driftWatch starts it, on the leader only.
func newGeneratedCache(mgr ctrl.Manager) (cache.Cache, error) {
	exists := func(key string) labels.Selector {
		req, err := labels.NewRequirement(key, selection.Exists, nil)
		if err != nil {
			panic(err) // constant keys
		}
		return labels.NewSelector().Add(*req)
	}
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		HTTPClient:           mgr.GetHTTPClient(),
		DefaultLabelSelector: exists(LabelGenerated),
		DefaultTransform:     cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			metadataOf(namespaceGVK): {Label: exists(tenancyv1.LabelTenant)},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the cache of generated objects: %w", err)
	}
	return c, nil
}

// TenantOfGenerated maps a generated object to its Tenant by its
// generated-by label, and a namespace by its tenant label.
func TenantOfGenerated(obj client.Object) []reconcile.Request {
	key := LabelGenerated
	if obj.GetObjectKind().GroupVersionKind() == namespaceGVK {
		key = tenancyv1.LabelTenant
	}
	name := obj.GetLabels()[key]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: name}}}
}

// driftSources are the watches that map a change of a generated object (or
// of a tenant namespace's metadata) back to its Tenant. A deletion, or an
// edit that drops the label, arrives as a delete event carrying the old
// labels, so it maps too.
//
// Kinds the API server does not serve (MutatingAdmissionPolicy on a
// cluster before 1.36) are skipped, so the manager still starts there;
// served reports whether a kind is served.
func driftSources(c cache.Cache, served func(schema.GroupVersionKind) bool) []source.Source {
	mapper := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		return TenantOfGenerated(obj)
	})
	metaChanged := predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	var out []source.Source
	for _, k := range generatedKinds {
		if !served(k.gvk) {
			continue
		}
		var preds []predicate.Predicate
		if k.hasStatus {
			preds = append(preds, metaChanged)
		}
		out = append(out, source.Kind[client.Object](c, metadataOf(k.gvk), mapper, preds...))
	}
	// Namespaces: only the metadata the Tenant sets is drift.
	ns := predicate.Or[client.Object](predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	return append(out, source.Kind[client.Object](c, metadataOf(namespaceGVK), mapper, ns))
}
