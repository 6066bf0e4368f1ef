package setup

import (
	"errors"
	"flag"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/prometheus/client_golang/prometheus"

	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	tenantwebhook "github.com/canopyhq/canopy/internal/webhook/tenant"
)

func init() { registrations = append(registrations, registerTenant) }

// TenantOptions configure the Tenant controller and webhooks.
type TenantOptions struct {
	// AllowedClusterRoles are the ClusterRoles a Tenant may bind in
	// spec.roleBindings; empty means admin, edit and view.
	AllowedClusterRoles []string
}

func (o *TenantOptions) bindFlags(fs *flag.FlagSet) {
	fs.Var(stringList{&o.AllowedClusterRoles}, "tenant-allowed-cluster-role",
		"A ClusterRole Tenants may bind in spec.roleBindings (repeatable; default admin, edit, view).")
}

func (o TenantOptions) allowed() []string {
	if len(o.AllowedClusterRoles) == 0 {
		return tenantwebhook.DefaultAllowedClusterRoles
	}
	return o.AllowedClusterRoles
}

// tenantCollector is registered once per process; each manager points it
// at its own cache.
var tenantCollector = func() *tenantctrl.Collector {
	c := &tenantctrl.Collector{}
	if err := crmetrics.Registry.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err)
		}
	}
	return c
}()

// registerTenant wires the Tenant reconciler (leader only), its metrics
// and its webhooks (every replica).
func registerTenant(mgr ctrl.Manager, d Deps) error {
	if err := (&tenantctrl.Reconciler{
		Client:    mgr.GetClient(),
		Reader:    mgr.GetAPIReader(),
		Forest:    d.Forest,
		Recorder:  mgr.GetEventRecorder("canopy-tenant"),
		Subscribe: d.Sync.Subscribe,
		Loaded:    d.Sync.Loaded,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up tenant reconciler: %w", err)
	}
	tenantCollector.SetReader(mgr.GetCache())
	// The tenant webhooks deny until the forest has loaded; report not
	// ready until then, so clients (and `make demo`) wait instead.
	if err := mgr.AddReadyzCheck("tenant-forest", d.Sync.ReadyCheck); err != nil {
		return fmt.Errorf("adding tenant readiness check: %w", err)
	}

	id := d.Self
	tenantwebhook.Register(mgr, tenantwebhook.Deps{
		Forest:              d.Forest,
		Sync:                d.Sync,
		Cache:               mgr.GetClient(),
		API:                 mgr.GetAPIReader(),
		IsManager:           id.Is,
		AllowedClusterRoles: d.Options.Tenant.allowed(),
		HubUsers:            d.Options.Fleet.HubUsers,
		Slots:               tenantwebhook.NewSlotStore(mgr.GetAPIReader(), mgr.GetClient(), d.Options.Forest.ManagerNamespace),
	})
	return nil
}
