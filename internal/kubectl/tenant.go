package kubectl

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// TenantOptions shape the tenant views.
type TenantOptions struct {
	Output Output
	// Now is the time ages are measured from; zero means the clock.
	Now time.Time
}

// TenantList prints one line per tenant: its namespace count, owners,
// readiness and the requests summary of the quota at its root. It makes
// three List calls however many tenants there are.
func TenantList(ctx context.Context, c client.Client, w io.Writer, o TenantOptions) error {
	var tenants tenancyv1.TenantList
	if err := c.List(ctx, &tenants); err != nil {
		return fmt.Errorf("listing tenants: %w", err)
	}
	slices.SortFunc(tenants.Items, func(a, b tenancyv1.Tenant) int { return strings.Compare(a.Name, b.Name) })
	if o.Output != OutputHuman {
		objs := make([]client.Object, len(tenants.Items))
		for i := range tenants.Items {
			objs[i] = &tenants.Items[i]
		}
		return printObjects(w, c.Scheme(), o.Output, false, objs...)
	}
	if len(tenants.Items) == 0 {
		_, err := io.WriteString(w, "No resources found.\n")
		return err
	}
	quotas, err := listQuotas(ctx, c, "")
	if err != nil {
		return err
	}
	now := nowOr(o.Now)
	// On a hub (some Tenant has placement) a CLUSTERS column lists each
	// Tenant's members; a single cluster's table is unchanged.
	fleet := slices.ContainsFunc(tenants.Items, func(t tenancyv1.Tenant) bool { return t.Spec.Placement != nil })
	tw := tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
	if fleet {
		fmt.Fprintln(tw, "NAME\tNAMESPACES\tOWNERS\tREADY\tQUOTA\tCLUSTERS\tAGE")
	} else {
		fmt.Fprintln(tw, "NAME\tNAMESPACES\tOWNERS\tREADY\tQUOTA\tAGE")
	}
	for i := range tenants.Items {
		t := &tenants.Items[i]
		quota := ""
		if rows := rootQuotas(quotas, t.Name); len(rows) > 0 {
			quota = rows[0].requests
		}
		ready := conditionStatus(t.Status.Conditions, tenancyv1.ConditionReady)
		if !fleet {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", t.Name, len(t.Status.Namespaces), len(t.Spec.Owners),
				ready, orNone(quota), age(now, t.CreationTimestamp))
			continue
		}
		clusters := "-" // not a fleet Tenant: it lives on the hub only
		if t.Spec.Placement != nil {
			// A fleet Tenant is expanded on its members, not here: its
			// namespaces are theirs and its readiness is Placed.
			clusters = tenantClusters(t)
			ready = conditionStatus(t.Status.Conditions, tenancyv1.ConditionPlaced)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\n", t.Name, fleetNamespaceCount(t), len(t.Spec.Owners),
			ready, orNone(quota), clusters, age(now, t.CreationTimestamp))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the tenant table: %w", err)
	}
	return nil
}

// rootQuotas are the quotas in a tenant's root namespace, which has the
// tenant's name.
func rootQuotas(rows []quotaRow, root string) []quotaRow {
	var out []quotaRow
	for _, r := range rows {
		if r.namespace == root {
			out = append(out, r)
		}
	}
	return out
}

func conditionStatus(conds []metav1.Condition, t string) string {
	if c := apimeta.FindStatusCondition(conds, t); c != nil {
		return string(c.Status)
	}
	return "Unknown"
}

// TenantDescribe prints a tenant's tree, owners, the quotas at its root and
// its conditions, or the Tenant itself with -o yaml|json.
func TenantDescribe(ctx context.Context, c client.Client, w io.Writer, name string, o TenantOptions) error {
	t := &tenancyv1.Tenant{}
	if err := c.Get(ctx, types.NamespacedName{Name: name}, t); err != nil {
		return fmt.Errorf("reading tenant %s: %w", name, err)
	}
	if o.Output != OutputHuman {
		return printObjects(w, c.Scheme(), o.Output, true, t)
	}
	quotas, err := listQuotas(ctx, c, t.Name)
	if err != nil {
		return err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Tenant %s\n", t.Name)
	if t.Spec.CostCenter != "" {
		fmt.Fprintf(&b, "  Cost center: %s\n", t.Spec.CostCenter)
	}
	writeOwners(&b, t.Spec.Owners)

	fmt.Fprintf(&b, "  Namespaces (%d):\n", len(t.Status.Namespaces))
	f, err := loadForestFrom(ctx, c, []string{t.Name})
	switch {
	case apierrors.IsNotFound(err):
		fmt.Fprintf(&b, "    Root namespace %s does not exist yet\n", t.Name)
	case err != nil:
		return fmt.Errorf("reading the tree of tenant %s: %w", t.Name, err)
	default:
		b.WriteString(indentLines(renderTrees(f, []string{t.Name}), "    "))
	}

	if len(quotas) == 0 {
		b.WriteString("  No quota\n")
	} else {
		b.WriteString("  Quota:\n")
		for _, q := range quotas {
			fmt.Fprintf(&b, "  - %s %s/%s\n", q.kind, q.namespace, q.name)
			if q.requests != "" {
				fmt.Fprintf(&b, "      Requests: %s\n", q.requests)
			}
			if q.limits != "" {
				fmt.Fprintf(&b, "      Limits: %s\n", q.limits)
			}
		}
	}
	if cost := t.Status.Cost; cost != nil {
		fmt.Fprintf(&b, "  Cost: %s %s month to date, %s %s last month\n", cost.MonthToDate, cost.Currency, cost.LastMonth, cost.Currency)
	}
	if t.Status.DashboardURL != "" {
		fmt.Fprintf(&b, "  Dashboards: %s\n", t.Status.DashboardURL)
	}
	writeTenantConditions(&b, t.Status.Conditions)
	_, err = io.WriteString(w, b.String())
	return err
}

func writeOwners(b *strings.Builder, owners []rbacv1.Subject) {
	if len(owners) == 0 {
		b.WriteString("  No owners\n")
		return
	}
	b.WriteString("  Owners:\n")
	for _, s := range owners {
		name := s.Name
		if s.Namespace != "" {
			name = s.Namespace + "/" + s.Name
		}
		fmt.Fprintf(b, "  - %s %s\n", s.Kind, name)
	}
}

// writeTenantConditions writes "Type=Status (Reason): Message", sorted by
// type so the owning controllers' write order does not matter.
func writeTenantConditions(b *strings.Builder, conds []metav1.Condition) {
	if len(conds) == 0 {
		b.WriteString("  No conditions\n")
		return
	}
	sorted := slices.Clone(conds)
	slices.SortFunc(sorted, func(x, y metav1.Condition) int { return strings.Compare(x.Type, y.Type) })
	b.WriteString("  Conditions:\n")
	for _, c := range sorted {
		fmt.Fprintf(b, "  - %s=%s (%s): %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
}

// indentLines prefixes every non-empty line.
func indentLines(s, indent string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			b.WriteString(indent)
		}
		b.WriteString(l)
	}
	return b.String()
}

// fleetNamespaceCount is a Tenant's namespace count: for a fleet Tenant,
// the sum over its members.
func fleetNamespaceCount(t *tenancyv1.Tenant) int {
	if t.Spec.Placement == nil {
		return len(t.Status.Namespaces)
	}
	n := 0
	for _, cs := range t.Status.Clusters {
		n += len(cs.Namespaces)
	}
	return n
}
