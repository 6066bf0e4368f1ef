package tenant

import (
	"context"
	"errors"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/forestsync"
)

// Paths the webhooks are served at.
const (
	TenantPath  = "/validate-tenancy-canopy-dev-v1alpha1-tenant"
	HubPath     = "/validate-tenant-hub-managed"
	AnchorPath  = "/validate-tenant-anchors"
	ProtectPath = "/validate-tenant-protect"
)

// The Tenant validator fails closed (Fail): Tenants are cluster-scoped
// objects only the platform team writes, so an outage only delays them,
// while failing open would let a Tenant claim another tenant's namespaces
// or bind a ClusterRole outside the allow-list.
//
// +kubebuilder:webhook:path=/validate-tenancy-canopy-dev-v1alpha1-tenant,mutating=false,failurePolicy=fail,sideEffects=None,groups=tenancy.canopy.dev,resources=tenants,verbs=create;update,versions=v1alpha1,name=tenants.tenancy.canopy.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=get

// IsManager reports whether a username is Canopy's manager.
type IsManager func(ctx context.Context, username string) bool

// Deps are what the handlers read.
type Deps struct {
	Forest *forest.Forest
	Sync   *forestsync.Syncer
	// Cache reads Tenants and Namespaces.
	Cache client.Reader
	// API reads ClusterRoles without caching them.
	API                 client.Reader
	IsManager           IsManager
	AllowedClusterRoles []string
	// Slots holds the per-tenant ledgers that make spec.subnamespaces.max
	// hold under concurrent anchors (see reserveSlot).
	Slots SlotStore
	// Now is the clock of slot reservations; nil means time.Now.
	Now func() time.Time
	// HubUsers are the usernames a fleet hub writes this member as; only
	// they (and the manager) may change a hub-managed Tenant.
	HubUsers []string
}

// NewSlotStore returns the store of subnamespace slot ledgers, kept in the
// manager's namespace: reader must read the API server directly (not a
// cache), so a retry after a lost race sees the winner's write.
func NewSlotStore(reader client.Reader, writer client.Client, namespace string) SlotStore {
	return SlotStore{reader: reader, writer: writer, namespace: namespace}
}

// Register serves the three webhooks.
func Register(mgr ctrl.Manager, d Deps) {
	dec := admission.NewDecoder(mgr.GetScheme())
	srv := mgr.GetWebhookServer()
	srv.Register(TenantPath, &webhook.Admission{Handler: &tenantValidator{d: d, decoder: dec}})
	srv.Register(AnchorPath, &webhook.Admission{Handler: &anchorValidator{d: d}})
	srv.Register(ProtectPath, &webhook.Admission{Handler: &protector{d: d, decoder: dec}})
	srv.Register(HubPath, &webhook.Admission{Handler: &hubManaged{d: d}})
}

type tenantValidator struct {
	d       Deps
	decoder admission.Decoder
}

// Handle validates a Tenant.
func (v *tenantValidator) Handle(ctx context.Context, req admission.Request) admission.Response {
	t := &tenancyv1.Tenant{}
	if err := v.decoder.Decode(req, t); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if t.DeletionTimestamp != nil {
		return admission.Allowed("") // finalizer removal and status writes while tearing down
	}
	if !v.d.Sync.Loaded() {
		return admission.Denied(forestsync.ErrNotLoaded.Error())
	}
	names := []string{t.Name}
	for _, n := range t.Spec.Namespaces {
		names = append(names, n.Name)
	}
	for _, tm := range t.Spec.Teams {
		names = append(names, tm.Namespace)
	}
	facts := map[string]NamespaceFacts{}
	v.d.Forest.Lock()
	for _, n := range names {
		ns := v.d.Forest.Lookup(n)
		if !ns.Exists() {
			continue
		}
		f := NamespaceFacts{Exists: true, Tenant: ns.Labels()[tenancyv1.LabelTenant], IsSub: ns.IsSub()}
		if p := ns.Parent(); p != nil {
			f.Parent = p.Name()
		}
		facts[n] = f
	}
	v.d.Forest.Unlock()

	var lookupErr error
	w := World{
		Namespace:           func(n string) NamespaceFacts { return facts[n] },
		AllowedClusterRoles: v.d.AllowedClusterRoles,
		ClusterRoleExists: func(name string) bool {
			err := v.d.API.Get(ctx, client.ObjectKey{Name: name}, &rbacv1.ClusterRole{})
			if err != nil && !apierrors.IsNotFound(err) {
				lookupErr = errors.Join(lookupErr, err)
			}
			return err == nil
		},
	}
	errs := Validate(t, w)
	if lookupErr != nil {
		return admission.Errored(http.StatusInternalServerError, lookupErr)
	}
	if len(errs) > 0 {
		ctrl.LoggerFrom(ctx).V(1).Info("Denied tenant", "tenant", klog.KObj(t), "errors", errs.ToAggregate().Error())
		return deny(apierrors.NewInvalid(tenancyv1.GroupVersion.WithKind("Tenant").GroupKind(), t.Name, errs))
	}
	return admission.Allowed("")
}

// deny answers with a full Status, so kubectl shows every field error.
func deny(err *apierrors.StatusError) admission.Response {
	st := err.Status()
	return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: false, Result: &st}}
}

// tenantOf returns the tenant label of an existing namespace in the forest.
func tenantOf(f *forest.Forest, ns string) string {
	n := f.Lookup(ns)
	if n == nil {
		return ""
	}
	return n.Labels()[tenancyv1.LabelTenant]
}
