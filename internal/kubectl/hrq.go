package kubectl

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// Kinds as the hrq table names them.
const (
	kindHRQ = "HierarchicalResourceQuota"
	kindHQ  = "HierarchicalQuota"
)

// quotaRow is one quota of either kind, reduced to what the table shows.
type quotaRow struct {
	namespace, name, kind string
	created               metav1.Time
	requests, limits      string
	obj                   client.Object
}

func hrqRow(q *hncv1.HierarchicalResourceQuota) quotaRow {
	req, lim := quotaSummary(q.Status.Hard, q.Status.Used)
	return quotaRow{q.Namespace, q.Name, kindHRQ, q.CreationTimestamp, req, lim, q}
}

// hqRow prefers the summaries Canopy wrote; before the first reconcile it
// shows spec.hard against no usage.
func hqRow(q *tenancyv1.HierarchicalQuota) quotaRow {
	hard := q.Status.Hard
	if len(hard) == 0 {
		hard = q.Spec.Hard
	}
	req, lim := quotaSummary(hard, q.Status.Used)
	if q.Status.RequestsSummary != "" || q.Status.LimitsSummary != "" {
		req, lim = q.Status.RequestsSummary, q.Status.LimitsSummary
	}
	return quotaRow{q.Namespace, q.Name, kindHQ, q.CreationTimestamp, req, lim, q}
}

// listQuotas lists both kinds in ns ("" for all namespaces) with one List
// each, sorted by namespace, name and kind.
func listQuotas(ctx context.Context, c client.Client, ns string) ([]quotaRow, error) {
	var opts []client.ListOption
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	var hrqs hncv1.HierarchicalResourceQuotaList
	if err := c.List(ctx, &hrqs, opts...); err != nil {
		return nil, fmt.Errorf("listing hierarchicalresourcequotas: %w", err)
	}
	var hqs tenancyv1.HierarchicalQuotaList
	if err := c.List(ctx, &hqs, opts...); err != nil {
		return nil, fmt.Errorf("listing hierarchicalquotas: %w", err)
	}
	rows := make([]quotaRow, 0, len(hrqs.Items)+len(hqs.Items))
	for i := range hrqs.Items {
		rows = append(rows, hrqRow(&hrqs.Items[i]))
	}
	for i := range hqs.Items {
		rows = append(rows, hqRow(&hqs.Items[i]))
	}
	slices.SortFunc(rows, func(a, b quotaRow) int {
		return strings.Compare(a.namespace+"/"+a.name+"/"+a.kind, b.namespace+"/"+b.name+"/"+b.kind)
	})
	return rows, nil
}

// QuotaOptions select the quotas `hrq` shows.
type QuotaOptions struct {
	// Names filter by name; empty shows all.
	Names []string
	// Namespace to list in; ignored with AllNamespaces.
	Namespace     string
	AllNamespaces bool
	Output        Output
	// Now is the time ages are measured from; zero means the clock.
	Now time.Time
}

// Quotas lists HNC HierarchicalResourceQuotas and Canopy
// HierarchicalQuotas together, with used/hard summaries.
func Quotas(ctx context.Context, c client.Client, w io.Writer, o QuotaOptions) error {
	ns := o.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	rows, err := listQuotas(ctx, c, ns)
	if err != nil {
		return err
	}
	if len(o.Names) > 0 {
		rows = slices.DeleteFunc(rows, func(r quotaRow) bool { return !slices.Contains(o.Names, r.name) })
		for _, n := range o.Names {
			if !slices.ContainsFunc(rows, func(r quotaRow) bool { return r.name == n }) {
				return fmt.Errorf("no hierarchicalresourcequota or hierarchicalquota named %q found%s", n, inNamespace(ns))
			}
		}
	}
	if o.Output != OutputHuman {
		objs := make([]client.Object, len(rows))
		for i, r := range rows {
			objs[i] = r.obj
		}
		return printObjects(w, c.Scheme(), o.Output, false, objs...)
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintf(w, "No resources found%s.\n", inNamespace(ns))
		return err
	}
	now := nowOr(o.Now)
	tw := tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
	if o.AllNamespaces {
		fmt.Fprint(tw, "NAMESPACE\t")
	}
	fmt.Fprintln(tw, "NAME\tKIND\tAGE\tREQUEST\tLIMIT")
	for _, r := range rows {
		if o.AllNamespaces {
			fmt.Fprintf(tw, "%s\t", r.namespace)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, r.kind, age(now, r.created), orNone(r.requests), orNone(r.limits))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the quota table: %w", err)
	}
	return nil
}

func inNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	return fmt.Sprintf(" in %s namespace", ns)
}

// orNone shows an empty cell as kubectl does.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
