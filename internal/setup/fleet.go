package setup

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/costapi"
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
	ns := fleetNamespace(d)
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

func fleetNamespace(d Deps) string {
	if ns := d.Options.Fleet.Namespace; ns != "" {
		return ns
	}
	return d.Options.Forest.ManagerNamespace
}

// fleetCostSource is what the hub's cost API reads fleet Tenants' members
// from; nil unless --hub.
func fleetCostSource(mgr ctrl.Manager, d Deps) costapi.FleetSource {
	if !d.Options.Fleet.Hub {
		return nil
	}
	return fleetCost{reader: mgr.GetAPIReader(), namespace: fleetNamespace(d), log: mgr.GetLogger().WithName("fleet-cost")}
}

// fleetCost names a fleet Tenant's members for its chargeback: those in the
// hub Tenant's status.clusters (placed or being removed), each with the
// OpenCost URL its registration gives, read at request time.
type fleetCost struct {
	reader    client.Reader
	namespace string
	log       logr.Logger
}

func (f fleetCost) FleetMembers(ctx context.Context, tenant string) ([]costapi.FleetMember, bool, error) {
	t := &tenancyv1.Tenant{}
	if err := f.reader.Get(ctx, client.ObjectKey{Name: tenant}, t); err != nil {
		return nil, false, fmt.Errorf("reading tenant %q: %w", tenant, err)
	}
	if t.Spec.Placement == nil {
		return nil, false, nil
	}
	var clusters []string
	for _, c := range t.Status.Clusters {
		clusters = append(clusters, c.Name)
	}
	members, err := f.members(ctx, clusters)
	return members, true, err
}

// AllMembers names every member some fleet Tenant is placed on (or being
// removed from), sorted, with its OpenCost: what the hub's scheduled
// export covers.
func (f fleetCost) AllMembers(ctx context.Context) ([]costapi.FleetMember, error) {
	var list tenancyv1.TenantList
	if err := f.reader.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing tenants: %w", err)
	}
	var clusters []string
	for _, t := range list.Items {
		if t.Spec.Placement == nil {
			continue
		}
		for _, c := range t.Status.Clusters {
			clusters = append(clusters, c.Name)
		}
	}
	slices.Sort(clusters)
	return f.members(ctx, slices.Compact(clusters))
}

// members pairs each cluster with the OpenCost its registration names.
func (f fleetCost) members(ctx context.Context, clusters []string) ([]costapi.FleetMember, error) {
	urls, complete := fleet.OpenCostURLs(ctx, f.reader, f.namespace, f.log)
	var out []costapi.FleetMember
	for _, c := range clusters {
		m := costapi.FleetMember{Cluster: c}
		if u := urls[c]; u != "" {
			hc, err := opencost.NewHTTPClient(u)
			if err != nil {
				return nil, fmt.Errorf("member %q: its OpenCost URL: %w", c, err)
			}
			m.OpenCost = hc
		} else if !complete {
			return nil, fmt.Errorf("member %q: the fleet's registrations could not all be read", c)
		}
		out = append(out, m)
	}
	return out, nil
}
