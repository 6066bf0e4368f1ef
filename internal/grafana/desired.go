package grafana

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// TenantState is what Grafana should hold for one tenant.
type TenantState struct {
	// Tenant is the Tenant's name.
	Tenant string
	// OrgName is the tenant's Grafana organization; empty means the tenant's
	// name. Ignored when the Provisioner works in one shared organization.
	OrgName string
	// DatasourceURL points at the label-enforcing Prometheus proxy that
	// confines every query to the tenant's namespaces.
	DatasourceURL string
	// DatasourceToken, when set, is sent by the datasource as a bearer
	// token, so the proxy knows which tenant asks. It is stored in the
	// datasource's secureJsonData, which no Grafana user can read back.
	DatasourceToken string
	// Teams each get a Grafana team, a folder and the dashboards. The team
	// named like the tenant is the tenant's own, whose folder is the
	// tenant's dashboard URL.
	Teams []TeamState
}

// TeamState is one team's Grafana space.
type TeamState struct {
	// Name of the team, unique within the tenant.
	Name string
	// Namespaces the team's dashboards query.
	Namespaces []string
	// Members may edit the team's folder; they are the Grafana team.
	Members []string
	// Viewers may only view it, through per-user folder permissions.
	Viewers []string
}

func (s TenantState) orgName() string {
	if s.OrgName != "" {
		return s.OrgName
	}
	return s.Tenant
}

// validate rejects a state that would produce ambiguous names or queries
// that match nothing.
func (s TenantState) validate() error {
	if s.Tenant == "" {
		return fmt.Errorf("tenant name is empty")
	}
	if s.DatasourceURL == "" {
		return fmt.Errorf("tenant %q: datasource URL is empty", s.Tenant)
	}
	seen := map[string]bool{}
	for _, t := range s.Teams {
		if t.Name == "" || strings.Contains(t.Name, "/") {
			return fmt.Errorf("tenant %q: invalid team name %q", s.Tenant, t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("tenant %q: duplicate team %q", s.Tenant, t.Name)
		}
		seen[t.Name] = true
		if len(t.Namespaces) == 0 {
			return fmt.Errorf("tenant %q team %q: no namespaces", s.Tenant, t.Name)
		}
	}
	return nil
}

// NamespaceRegex joins namespaces into the alternation PromQL's =~ matches
// exactly (PromQL anchors regexes), sorted and de-duplicated so the rendered
// dashboards, and with them the write decision, do not depend on order.
func NamespaceRegex(namespaces []string) string {
	quoted := make([]string, 0, len(namespaces))
	for _, ns := range uniqueSorted(namespaces) {
		quoted = append(quoted, regexp.QuoteMeta(ns))
	}
	return strings.Join(quoted, "|")
}

// FromTenant builds a tenant's desired Grafana state. subtree returns the
// namespaces of the tree rooted at a namespace, itself included, as the
// forest knows them. The tenant is always a team: its namespaces are the
// whole tree and its members are the owners that are Users, whose
// Kubernetes names are taken as Grafana logins or emails.
func FromTenant(t *tenancyv1alpha1.Tenant, subtree func(root string) []string, datasourceURL string) TenantState {
	st := TenantState{Tenant: t.Name, DatasourceURL: datasourceURL}
	own := TeamState{Name: t.Name, Namespaces: subtree(t.Name)}
	for _, o := range t.Spec.Owners {
		if o.Kind == rbacv1.UserKind {
			own.Members = append(own.Members, o.Name)
		}
	}
	teams := []TeamState{own}
	for _, tm := range t.Spec.Teams {
		if tm.Name == t.Name {
			continue // the tenant's own team is built above
		}
		ts := TeamState{Name: tm.Name, Namespaces: subtree(tm.Namespace)}
		if tm.Grafana != nil {
			ts.Members = append(ts.Members, tm.Grafana.Members...)
			ts.Viewers = append(ts.Viewers, tm.Grafana.Viewers...)
		}
		teams = append(teams, ts)
	}
	st.Teams = teams
	return st
}

func uniqueSorted(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
