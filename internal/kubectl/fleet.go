package kubectl

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// Fleet views, run against a hub. They read only the hub: each fleet
// Tenant's status.clusters, which the hub keeps from every member, so the
// user needs no credentials for the members and an unreachable member still
// shows, with the namespaces last seen there.

// FleetTree draws, per member cluster, the fleet Tenants placed on it and
// each Tenant's namespaces there (team-made subnamespaces included) as the
// hub reports them. It makes one List call.
func FleetTree(ctx context.Context, c client.Client, w io.Writer) error {
	var tenants tenancyv1.TenantList
	if err := c.List(ctx, &tenants); err != nil {
		return fmt.Errorf("listing tenants: %w", err)
	}
	type placed struct {
		tenant     string
		namespaces []string
	}
	byCluster := map[string][]placed{}
	state := map[string]string{}
	for _, t := range tenants.Items {
		if t.Spec.Placement == nil {
			continue
		}
		for _, cs := range t.Status.Clusters {
			byCluster[cs.Name] = append(byCluster[cs.Name], placed{t.Name, slices.Sorted(slices.Values(cs.Namespaces))})
			if s := clusterState(&cs); s != "" && state[cs.Name] == "" {
				state[cs.Name] = s
			}
		}
	}
	if len(byCluster) == 0 {
		_, err := io.WriteString(w, "No fleet Tenant is placed on any cluster.\n")
		return err
	}
	var b strings.Builder
	for _, cl := range slices.Sorted(maps.Keys(byCluster)) {
		b.WriteString(cl)
		if s := state[cl]; s != "" {
			fmt.Fprintf(&b, " (%s)", s)
		}
		b.WriteString("\n")
		ts := byCluster[cl]
		slices.SortFunc(ts, func(a, b placed) int { return strings.Compare(a.tenant, b.tenant) })
		for i, p := range ts {
			branch, indent := "├── ", "│   "
			if i == len(ts)-1 {
				branch, indent = "└── ", "    "
			}
			fmt.Fprintf(&b, "%s%s\n", branch, p.tenant)
			for j, n := range p.namespaces {
				nb := "├── "
				if j == len(p.namespaces)-1 {
					nb = "└── "
				}
				fmt.Fprintf(&b, "%s%s%s\n", indent, nb, n)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clusterState is what the plugin says of a member beyond its name: empty
// when it is reachable and synced.
func clusterState(cs *tenancyv1.TenantClusterStatus) string {
	if c := apimeta.FindStatusCondition(cs.Conditions, tenancyv1.ConditionAvailable); c != nil && c.Status == metav1.ConditionFalse {
		return c.Reason
	}
	if c := apimeta.FindStatusCondition(cs.Conditions, tenancyv1.ConditionSynced); c != nil && c.Status == metav1.ConditionFalse {
		return c.Reason
	}
	return ""
}

// tenantClusters is the CLUSTERS column of `tenant list`: each member the
// Tenant is on, with why when it is not reachable and synced.
func tenantClusters(t *tenancyv1.Tenant) string {
	var out []string
	for i := range t.Status.Clusters {
		cs := &t.Status.Clusters[i]
		if s := clusterState(cs); s != "" {
			out = append(out, cs.Name+"("+s+")")
		} else {
			out = append(out, cs.Name)
		}
	}
	if len(out) == 0 {
		return "<none>"
	}
	return strings.Join(out, ",")
}
