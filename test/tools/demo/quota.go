package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/grafana"
)

// printQuotaUse prints, per tenant, the quota at its root (used against
// hard) and what each team's namespaces use of it: the requests and
// limits of their pods that have not finished, and their number.
func (d *dashboards) printQuotaUse(ctx context.Context, states []grafana.TenantState) error {
	var pods corev1.PodList
	if err := d.client.List(ctx, &pods); err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	byNS := map[string][]corev1.Pod{}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			byNS[p.Namespace] = append(byNS[p.Namespace], p)
		}
	}
	fmt.Println("\nQuota use per team (each team's namespaces, against the quota at the tenant's root):")
	for _, st := range states {
		hard, used, err := d.rootQuota(ctx, st.Tenant)
		if err != nil {
			return err
		}
		if len(hard) == 0 {
			fmt.Printf("  tenant %s: no quota\n", st.Tenant)
			continue
		}
		names := make([]corev1.ResourceName, 0, len(hard))
		for n := range hard {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
		var parts []string
		for _, n := range names {
			u := used[n]
			h := hard[n]
			parts = append(parts, fmt.Sprintf("%s %s/%s", n, u.String(), h.String()))
		}
		fmt.Printf("  tenant %s: %s\n", st.Tenant, strings.Join(parts, ", "))
		for _, team := range st.Teams {
			parts = parts[:0]
			for _, n := range names {
				parts = append(parts, fmt.Sprintf("%s %s", n, teamUse(byNS, team.Namespaces, n)))
			}
			fmt.Printf("    team %s (%s): %s\n", team.Name, strings.Join(team.Namespaces, ", "), strings.Join(parts, ", "))
		}
	}
	return nil
}

// rootQuota is the hard and used of the quota in the tenant's root
// namespace, Canopy's HierarchicalQuota or else HNC's
// HierarchicalResourceQuota.
func (d *dashboards) rootQuota(ctx context.Context, root string) (corev1.ResourceList, corev1.ResourceList, error) {
	var hqs tenancyv1.HierarchicalQuotaList
	if err := d.client.List(ctx, &hqs, client.InNamespace(root)); err != nil {
		return nil, nil, fmt.Errorf("listing hierarchicalquotas in %s: %w", root, err)
	}
	if len(hqs.Items) > 0 {
		q := hqs.Items[0]
		hard := q.Status.Hard
		if len(hard) == 0 {
			hard = q.Spec.Hard
		}
		return hard, q.Status.Used, nil
	}
	var hrqs hncv1.HierarchicalResourceQuotaList
	if err := d.client.List(ctx, &hrqs, client.InNamespace(root)); err != nil {
		return nil, nil, fmt.Errorf("listing hierarchicalresourcequotas in %s: %w", root, err)
	}
	if len(hrqs.Items) > 0 {
		return hrqs.Items[0].Spec.Hard, hrqs.Items[0].Status.Used, nil
	}
	return nil, nil, nil
}

// teamUse sums one quota resource over the pods of the namespaces; "-"
// for a resource pods do not account (services, storage, ...).
func teamUse(byNS map[string][]corev1.Pod, namespaces []string, name corev1.ResourceName) string {
	var sum resource.Quantity
	for _, ns := range namespaces {
		for _, p := range byNS[ns] {
			switch name {
			case corev1.ResourcePods, "count/pods":
				sum.Add(resource.MustParse("1"))
				continue
			}
			kind, res, ok := strings.Cut(string(name), ".")
			if !ok {
				switch name {
				case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
					kind, res = "requests", string(name)
				default:
					return "-"
				}
			}
			if kind != "requests" && kind != "limits" {
				return "-"
			}
			for _, c := range p.Spec.Containers {
				list := c.Resources.Requests
				if kind == "limits" {
					list = c.Resources.Limits
				}
				if q, ok := list[corev1.ResourceName(res)]; ok {
					sum.Add(q)
				}
			}
		}
	}
	return sum.String()
}
