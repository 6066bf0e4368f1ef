package cost

import (
	"strings"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// Tenant is what attribution needs to know about a live Tenant.
type Tenant struct {
	Name       string
	CostCenter string
	// Teams are the tenant's declared teams. The tenant itself is always a
	// team rooted at its root namespace and need not be listed.
	Teams []Team
}

// Team owns the subtree rooted at the namespace Root.
type Team struct {
	Name string
	Root string
}

// TenantFromAPI extracts what attribution needs from a Tenant.
func TenantFromAPI(t *tenancyv1alpha1.Tenant) Tenant {
	out := Tenant{Name: t.Name, CostCenter: t.Spec.CostCenter}
	for _, tm := range t.Spec.Teams {
		out.Teams = append(out.Teams, Team{Name: tm.Name, Root: tm.Namespace})
	}
	return out
}

// LiveNamespace is a namespace that exists now.
type LiveNamespace struct {
	// Tenant is the namespace's tenant, empty if it belongs to none.
	Tenant string
	// Path is the namespace's tree path, root first, ending with the
	// namespace itself.
	Path []string
}

// Directory is the live attribution view the controller builds from its
// caches: Tenants by name and namespaces by name. Namespaces missing from it
// are attributed from OpenCost's namespaceLabels.
type Directory struct {
	Tenants    map[string]Tenant
	Namespaces map[string]LiveNamespace
}

// TeamRef names a team and its path in the tree.
type TeamRef struct {
	Name string
	// Path is the team root's tree path, e.g. "payments/payments-api".
	Path string
}

// Attribution is where one namespace's cost goes.
type Attribution struct {
	Tenant     string
	CostCenter string
	// Path is the namespace's full tree path, root first.
	Path string
	// Teams are every team whose subtree holds the namespace, outermost
	// (the tenant) first; the last is the namespace's own team.
	Teams []TeamRef
	// FromLabels says the namespace was not live and was attributed from
	// OpenCost's namespaceLabels.
	FromLabels bool
}

// Team is the namespace's innermost team.
func (a *Attribution) Team() TeamRef { return a.Teams[len(a.Teams)-1] }

// Resolver attributes namespaces, caching one Attribution per namespace.
type Resolver struct {
	dir   Directory
	cache map[string]*Attribution
}

// NewResolver returns a Resolver over dir. dir must not change while the
// Resolver is in use.
func NewResolver(dir Directory) *Resolver {
	return &Resolver{dir: dir, cache: map[string]*Attribution{}}
}

// Resolve attributes namespace ns, whose OpenCost namespaceLabels are
// labels. A live namespace is attributed from the Directory alone; a
// namespace gone from the cluster from its labels. It returns nil when the
// namespace belongs to no tenant. The result is shared: do not modify it.
func (r *Resolver) Resolve(ns string, labels map[string]string) *Attribution {
	if a, ok := r.cache[ns]; ok {
		return a
	}
	a := r.resolve(ns, labels)
	r.cache[ns] = a
	return a
}

func (r *Resolver) resolve(ns string, labels map[string]string) *Attribution {
	var (
		tenant     string
		path       []string
		fromLabels bool
	)
	if live, ok := r.dir.Namespaces[ns]; ok {
		tenant, path = live.Tenant, live.Path
	} else {
		fromLabels = true
		var ok bool
		tenant, path, ok = ParseNamespaceLabels(ns, labels)
		if !ok {
			path = nil
		}
		if tenant == "" && len(path) > 0 {
			if _, known := r.dir.Tenants[path[0]]; known {
				tenant = path[0]
			}
		}
	}
	if tenant == "" {
		return nil
	}
	if len(path) == 0 || path[len(path)-1] != ns {
		// Without tree labels all we know is that the namespace is in the
		// tenant's tree, whose root has the tenant's name.
		path = []string{ns}
		if ns != tenant {
			path = []string{tenant, ns}
		}
	}
	t := r.dir.Tenants[tenant]
	a := &Attribution{Tenant: tenant, CostCenter: t.CostCenter, Path: strings.Join(path, "/"), FromLabels: fromLabels}
	a.Teams = append(a.Teams, TeamRef{Name: tenant, Path: path[0]})
	for i := 1; i < len(path); i++ {
		for _, tm := range t.Teams {
			if tm.Root == path[i] {
				a.Teams = append(a.Teams, TeamRef{Name: tm.Name, Path: strings.Join(path[:i+1], "/")})
				break
			}
		}
	}
	return a
}
