package costapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
)

// Fleet chargeback, computed on a hub: each member cluster's own OpenCost
// is read and rolled up on its own (idle and shared cost spread within the
// cluster that incurred it), then the clusters are merged by
// cost.FleetRows. As for one cluster, it is all or nothing: a member whose
// OpenCost cannot be read fails the whole chargeback, naming the member.

// FleetMember is one member cluster's OpenCost as the hub reaches it.
type FleetMember struct {
	Cluster string
	// OpenCost is nil when the member has no OpenCost URL registered.
	OpenCost opencost.Client
}

// FleetSource, on a hub, tells fleet Tenants apart and names their members.
type FleetSource interface {
	// FleetMembers returns the members tenant is placed on (or being
	// removed from), with their OpenCost; isFleet is false for a Tenant
	// without placement, whose chargeback is this cluster's own.
	FleetMembers(ctx context.Context, tenant string) (members []FleetMember, isFleet bool, err error)
}

// FleetChargeback is a fleet chargeback of one window: the conserved
// report of every member, merged when written.
type FleetChargeback struct {
	Query
	Currency string
	Clusters []cost.ClusterReport
}

// FleetDirectory is the directory a hub attributes member namespaces
// through: the hub's Tenants (cost centers, teams) and no namespaces, so
// that every member namespace is resolved from the tenant and tree labels
// OpenCost reports for it in that member, never from a hub namespace of
// the same name.
func FleetDirectory(hub cost.Directory) cost.Directory {
	return cost.Directory{Tenants: hub.Tenants}
}

// ComputeFleet reads q.Window from every member's OpenCost and rolls each
// cluster up through dir. q.Tenant filters the rows when written.
func ComputeFleet(ctx context.Context, members []FleetMember, dir cost.Directory, opts cost.Options, currency string, q Query) (*FleetChargeback, error) {
	cb := &FleetChargeback{Query: q, Currency: currency}
	for _, m := range members {
		if m.OpenCost == nil {
			// Unavailable, so the API answers 503 naming the member.
			return nil, fmt.Errorf("member %q: %w", m.Cluster, &opencost.UnavailableError{URL: "(none)", Err: errors.New("no OpenCost URL is registered for this member")})
		}
		rep, err := Compute(ctx, m.OpenCost, dir, opts, currency, Query{Window: q.Window})
		if err != nil {
			return nil, fmt.Errorf("member %q: %w", m.Cluster, err)
		}
		cb.Clusters = append(cb.Clusters, cost.ClusterReport{Cluster: m.Cluster, Report: rep.Report})
	}
	if _, err := cost.FleetRows(cb.Clusters, cost.PrecisionMicros); err != nil {
		return nil, err
	}
	return cb, nil
}

// Rows returns the merged rows at precision p, filtered to q.Tenant's rows
// and totals when set (cluster and fleet totals cover every tenant, so a
// tenant's chargeback leaves them out), and to the total lines only when
// q.Summary is set.
func (cb *FleetChargeback) Rows(p cost.Precision) ([]cost.FleetRow, error) {
	rows, err := cost.FleetRows(cb.Clusters, p)
	if err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, r := range rows {
		total := r.Line == cost.LineTeamTotal || r.Line == cost.LineTenantTotal || r.Line == cost.LineClusterTotal || r.Line == cost.LineFleetTotal
		if cb.Summary && !total {
			continue
		}
		if cb.Tenant != "" && r.Tenant != cb.Tenant {
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// WriteCSV writes the fleet chargeback as CSV (cost.FleetHeader), in cents.
func (cb *FleetChargeback) WriteCSV(w io.Writer) error {
	rows, err := cb.Rows(cost.PrecisionCents)
	if err != nil {
		return err
	}
	return cost.WriteFleetCSV(w, cost.CSVOptions{Currency: cb.Currency, Precision: cost.PrecisionCents}, cb.Window, rows)
}

// WriteJSON writes the fleet chargeback as a Document whose rows carry
// their cluster, with exact amounts.
func (cb *FleetChargeback) WriteJSON(w io.Writer) error {
	rows, err := cb.Rows(cost.PrecisionMicros)
	if err != nil {
		return err
	}
	d := &Document{
		Kind: KindChargeback, APIVersion: GroupVersion.String(), Tenant: cb.Tenant,
		Window:   WindowJSON{Start: cb.Window.Start.UTC().Format(time.RFC3339), End: cb.Window.End.UTC().Format(time.RFC3339)},
		Currency: cb.Currency, Summary: cb.Summary, Rows: []RowJSON{},
	}
	for _, r := range rows {
		m := func(i int) string { return cost.Micro(r.Money[i]).String() }
		d.Rows = append(d.Rows, RowJSON{
			Cluster: r.Cluster, Line: string(r.Line), Tenant: r.Tenant, CostCenter: r.CostCenter, Team: r.Team, TeamPath: r.TeamPath,
			Namespace: r.Namespace, Path: r.Path, CPU: m(0), RAM: m(1), GPU: m(2), PV: m(3), Network: m(4), LoadBalancer: m(5),
			External: m(6), Shared: m(7), Idle: m(8), Total: m(9), CPUCoreHours: r.CPUCoreHours.String(), RAMGiBHours: r.RAMGiBHours.String(),
		})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("encoding fleet chargeback JSON: %w", err)
	}
	_, err = buf.WriteTo(w)
	return err
}

// Write encodes the fleet chargeback in format f.
func (cb *FleetChargeback) Write(w io.Writer, f Format) error {
	if f == FormatJSON {
		return cb.WriteJSON(w)
	}
	return cb.WriteCSV(w)
}
