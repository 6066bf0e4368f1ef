package setup

import (
	"flag"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"

	"github.com/canopyhq/canopy/internal/fleet"
)

func init() { registrations = append(registrations, registerFleet) }

// FleetOptions configure multi-cluster tenancy (docs/multicluster.md).
type FleetOptions struct {
	// Hub runs the fleet controllers: Tenants with spec.placement are
	// written to the member clusters registered in Namespace.
	Hub bool
	// Namespace holds the members' ClusterProfiles and kubeconfig
	// Secrets; empty means the manager's namespace.
	Namespace string
	// Interval between reads of the registrations.
	Interval time.Duration
	// HubUsers, on a member, are the usernames the hub writes as; only
	// they may change hub-managed Tenants.
	HubUsers []string
}

func (o *FleetOptions) bindFlags(fs *flag.FlagSet) {
	fs.BoolVar(&o.Hub, "hub", o.Hub, "Run as a fleet hub: place Tenants that have spec.placement on the member clusters registered by ClusterProfile or kubeconfig Secret.")
	fs.StringVar(&o.Namespace, "fleet-namespace", o.Namespace, "Namespace of the members' ClusterProfiles and kubeconfig Secrets (default: the manager's namespace; hub only).")
	fs.DurationVar(&o.Interval, "fleet-registration-interval", 10*time.Second, "How often the hub re-reads member registrations and retries members it could not connect.")
	fs.Var(stringList{&o.HubUsers}, "fleet-hub-user", "On a member: a username the fleet hub writes as; only it may change hub-managed Tenants (repeatable).")
}

// registerFleet wires the hub's provider, registrar and reconciler when
// --hub is set. The hub still runs every single-cluster controller; the
// Tenant controller leaves fleet Tenants to the hub.
func registerFleet(mgr ctrl.Manager, d Deps) error {
	o := d.Options.Fleet
	if !o.Hub {
		return nil
	}
	ns := o.Namespace
	if ns == "" {
		ns = d.Options.Forest.ManagerNamespace
	}
	interval := o.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	p := fleet.NewProvider(mgr.GetScheme(), ctrl.Log.WithName("fleet"))
	mc, err := mcmanager.WithMultiCluster(mgr, p)
	if err != nil {
		return fmt.Errorf("setting up the multicluster manager: %w", err)
	}
	p.SetAware(mc)
	if err := mgr.Add(p); err != nil {
		return fmt.Errorf("adding the fleet provider: %w", err)
	}
	if err := mgr.Add(&fleet.Registrar{Reader: mgr.GetAPIReader(), Provider: p, Namespace: ns, Interval: interval}); err != nil {
		return fmt.Errorf("adding the fleet registrar: %w", err)
	}
	if err := (&fleet.Hub{Client: mgr.GetClient(), Provider: p}).SetupWithManager(mc); err != nil {
		return fmt.Errorf("setting up the fleet reconciler: %w", err)
	}
	return nil
}
