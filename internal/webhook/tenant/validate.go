package tenant

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/placement"
)

// NamespaceFacts are what validation needs to know about one namespace.
type NamespaceFacts struct {
	Exists bool
	// Tenant is the namespace's tenant label.
	Tenant string
	// Parent is its parent in the hierarchy, if any.
	Parent string
	// IsSub says whether it is a subnamespace (created through an anchor).
	IsSub bool
}

// World is what validation reads besides the Tenant.
type World struct {
	// Namespace returns facts about a namespace.
	Namespace func(name string) NamespaceFacts
	// ClusterRoleExists says whether a ClusterRole exists.
	ClusterRoleExists func(name string) bool
	// AllowedClusterRoles is the installation's allow-list.
	AllowedClusterRoles []string
}

// DefaultAllowedClusterRoles is the allow-list without
// --tenant-allowed-cluster-role flags.
var DefaultAllowedClusterRoles = []string{"admin", "edit", "view"}

// Validate returns every problem with t, each naming its field.
func Validate(t *tenancyv1.Tenant, w World) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	for _, msg := range validation.IsDNS1123Label(t.Name) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), t.Name, "the root namespace has the tenant's name: "+msg))
	}
	errs = append(errs, validateSubjects(spec.Child("owners"), t.Spec.Owners)...)
	errs = append(errs, validateNamespaces(t, w)...)
	for i, b := range t.Spec.RoleBindings {
		p := spec.Child("roleBindings").Index(i)
		switch {
		case !slices.Contains(w.AllowedClusterRoles, b.ClusterRole):
			errs = append(errs, field.NotSupported(p.Child("clusterRole"), b.ClusterRole, w.AllowedClusterRoles))
		case w.ClusterRoleExists != nil && !w.ClusterRoleExists(b.ClusterRole):
			errs = append(errs, field.NotFound(p.Child("clusterRole"), b.ClusterRole))
		}
		errs = append(errs, validateSubjects(p.Child("subjects"), b.Subjects)...)
	}
	if q := t.Spec.Quota; q != nil {
		for name, v := range q.Hard {
			if v.Sign() < 0 {
				errs = append(errs, field.Invalid(spec.Child("quota", "hard").Key(string(name)), v.String(), "must not be negative"))
			}
		}
	}
	errs = append(errs, placement.ValidateSplit(&t.Spec)...)
	if d := t.Spec.NamespaceDefaults; d != nil {
		for k := range d.Labels {
			for _, msg := range validation.IsQualifiedName(k) {
				errs = append(errs, field.Invalid(spec.Child("namespaceDefaults", "labels").Key(k), k, msg))
			}
		}
	}
	if p := t.Spec.Policies; p != nil {
		for i, r := range p.AllowedRegistries {
			fp := spec.Child("policies", "allowedRegistries").Index(i)
			switch r = strings.TrimSpace(r); {
			case r == "":
				errs = append(errs, field.Required(fp, "a registry or repository, such as registry.example.com or registry.example.com/team/"))
			case strings.Contains(r, "://"):
				errs = append(errs, field.Invalid(fp, r, "a registry or repository name without a scheme, such as registry.example.com"))
			case strings.ContainsAny(r, "@ \t"):
				errs = append(errs, field.Invalid(fp, r, "a registry or repository name without a digest or spaces"))
			case strings.Contains(r, "/") && strings.LastIndex(r, ":") > strings.LastIndex(r, "/"):
				errs = append(errs, field.Invalid(fp, r, "a registry or repository name without a tag (entries match every tag)"))
			}
		}
		for k, v := range p.NodeSelector {
			fp := spec.Child("policies", "nodeSelector").Key(k)
			for _, msg := range validation.IsQualifiedName(k) {
				errs = append(errs, field.Invalid(fp, k, msg))
			}
			for _, msg := range validation.IsValidLabelValue(v) {
				errs = append(errs, field.Invalid(fp, v, msg))
			}
		}
	}
	if s := t.Spec.Subnamespaces; s != nil && s.Max > 0 && int(s.Max) < 1+len(t.Spec.Namespaces) {
		errs = append(errs, field.Invalid(spec.Child("subnamespaces", "max"), s.Max,
			fmt.Sprintf("the tree already lists %d namespaces, root included", 1+len(t.Spec.Namespaces))))
	}
	errs = append(errs, validateTeams(t, w)...)
	return errs
}

func validateSubjects(p *field.Path, subjects []rbacv1.Subject) field.ErrorList {
	var errs field.ErrorList
	for i, s := range subjects {
		sp := p.Index(i)
		switch s.Kind {
		case rbacv1.UserKind, rbacv1.GroupKind:
		case rbacv1.ServiceAccountKind:
			if s.Namespace == "" {
				errs = append(errs, field.Required(sp.Child("namespace"), "a ServiceAccount subject needs a namespace"))
			}
		default:
			errs = append(errs, field.NotSupported(sp.Child("kind"), s.Kind, []string{rbacv1.UserKind, rbacv1.GroupKind, rbacv1.ServiceAccountKind}))
		}
		if s.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		}
	}
	return errs
}

// validateNamespaces checks names, duplicates, parents, cycles and
// namespaces that exist elsewhere.
func validateNamespaces(t *tenancyv1.Tenant, w World) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "namespaces")
	parents := map[string]string{}
	for i, n := range t.Spec.Namespaces {
		np := p.Index(i).Child("name")
		for _, msg := range validation.IsDNS1123Label(n.Name) {
			errs = append(errs, field.Invalid(np, n.Name, msg))
		}
		if n.Name == t.Name {
			errs = append(errs, field.Invalid(np, n.Name, "is the root namespace, which has the tenant's name"))
		}
		if _, dup := parents[n.Name]; dup {
			errs = append(errs, field.Duplicate(np, n.Name))
			continue
		}
		parents[n.Name] = n.Parent
	}
	for i, n := range t.Spec.Namespaces {
		pp := p.Index(i).Child("parent")
		if n.Parent == "" || n.Parent == t.Name {
			continue
		}
		if _, ok := parents[n.Parent]; !ok {
			errs = append(errs, field.Invalid(pp, n.Parent, fmt.Sprintf("must be %q (the root) or a namespace listed in spec.namespaces", t.Name)))
			continue
		}
		if cycle := cycleFrom(n.Name, parents); cycle != nil {
			errs = append(errs, field.Invalid(pp, n.Parent, "forms a cycle: "+strings.Join(cycle, " -> ")))
		}
	}
	if w.Namespace == nil {
		return errs
	}
	if f := w.Namespace(t.Name); f.Exists {
		mp := field.NewPath("metadata", "name")
		switch {
		case f.Tenant != "" && f.Tenant != t.Name:
			errs = append(errs, field.Forbidden(mp, fmt.Sprintf("root namespace %q already belongs to tenant %q", t.Name, f.Tenant)))
		case f.Parent != "":
			errs = append(errs, field.Forbidden(mp, fmt.Sprintf("root namespace %q already belongs to another tree (its parent is %q)", t.Name, f.Parent)))
		}
	}
	for i, n := range t.Spec.Namespaces {
		f := w.Namespace(n.Name)
		if !f.Exists {
			continue
		}
		np := p.Index(i).Child("name")
		want := n.Parent
		if want == "" {
			want = t.Name
		}
		switch {
		case f.Tenant != "" && f.Tenant != t.Name:
			errs = append(errs, field.Forbidden(np, fmt.Sprintf("namespace %q already belongs to tenant %q", n.Name, f.Tenant)))
		case !f.IsSub || f.Parent != want:
			where := "is not in any tree"
			if f.Parent != "" {
				where = fmt.Sprintf("belongs to another tree (its parent is %q)", f.Parent)
			}
			if f.Parent == want {
				where = "is not a subnamespace"
			}
			errs = append(errs, field.Forbidden(np, fmt.Sprintf("namespace %q already exists and %s; a Tenant only creates new subnamespaces under %q", n.Name, where, want)))
		}
	}
	return errs
}

// cycleFrom returns the cycle reached by walking parents up from name, or
// nil if the walk ends at the root.
func cycleFrom(name string, parents map[string]string) []string {
	seen := map[string]int{}
	var path []string
	for cur := name; cur != ""; cur = parents[cur] {
		if at, ok := seen[cur]; ok {
			return append(path[at:], cur)
		}
		seen[cur] = len(path)
		path = append(path, cur)
		if _, listed := parents[cur]; !listed {
			return nil
		}
	}
	return nil
}

func validateTeams(t *tenancyv1.Tenant, w World) field.ErrorList {
	var errs field.ErrorList
	inTree := map[string]bool{t.Name: true}
	for _, n := range t.Spec.Namespaces {
		inTree[n.Name] = true
	}
	seen := map[string]bool{}
	for i, tm := range t.Spec.Teams {
		p := field.NewPath("spec", "teams").Index(i)
		if seen[tm.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), tm.Name))
		}
		seen[tm.Name] = true
		if inTree[tm.Namespace] {
			continue
		}
		if w.Namespace != nil {
			if f := w.Namespace(tm.Namespace); f.Exists && f.Tenant == t.Name {
				continue // a team-made subnamespace of the tree
			}
		}
		errs = append(errs, field.Invalid(p.Child("namespace"), tm.Namespace, fmt.Sprintf("is not in tenant %q's tree", t.Name)))
	}
	return errs
}
