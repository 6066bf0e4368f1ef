// Package anchors validates SubnamespaceAnchors. Decide is pure and reads
// the forest under its lock; Handle is a thin wrapper that never writes to
// the API.
package anchors

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// Request is an anchor operation: Old is nil on create, New nil on delete.
type Request struct {
	Op          admissionv1.Operation
	Old, New    *api.SubnamespaceAnchor
	FromManager bool
}

// Decide returns "" to allow the request or the reason to deny it. The
// caller holds the forest's lock.
//
//   - Create: the anchor's namespace must be managed and not halted, the
//     name must be a valid namespace name that is not excluded, and a
//     namespace of that name must not exist unless it is already this
//     namespace's subnamespace.
//   - Create and update: managed metadata must be legal.
//   - Delete: an anchor whose subnamespace has children of its own needs
//     cascading deletion allowed on the subnamespace or an ancestor.
func Decide(f *forest.Forest, r Request) string {
	if r.FromManager {
		return ""
	}
	cfg := f.Config()
	switch r.Op {
	case admissionv1.Create:
		a := r.New
		if why := cfg.WhyExcluded(a.Namespace); why != "" {
			return fmt.Sprintf("cannot create a subnamespace in %q: it is %s", a.Namespace, why)
		}
		if msgs := validation.IsDNS1123Label(a.Name); len(msgs) > 0 {
			return fmt.Sprintf("%q is not a valid namespace name: %s", a.Name, strings.Join(msgs, "; "))
		}
		if why := cfg.WhyExcluded(a.Name); why != "" {
			return fmt.Sprintf("cannot create subnamespace %q: it is %s", a.Name, why)
		}
		parent := f.Lookup(a.Namespace)
		if root := parent.HaltedRoot(); root != "" {
			return fmt.Sprintf("cannot create a subnamespace in %q: activities are halted in %q (see its HierarchyConfiguration's conditions)", a.Namespace, root)
		}
		if c := f.Lookup(a.Name); c.Exists() && (!c.IsSub() || c.Parent() != parent) {
			return fmt.Sprintf("cannot create subnamespace %q in %q: a namespace of that name already exists and is not a subnamespace of %q", a.Name, a.Namespace, a.Namespace)
		}
		return validateMeta(cfg, nil, a)
	case admissionv1.Update:
		return validateMeta(cfg, r.Old, r.New)
	case admissionv1.Delete:
		a := r.Old
		c := f.Lookup(a.Name)
		if !c.Exists() || !c.IsSub() || c.Parent().Name() != a.Namespace {
			return ""
		}
		kids := c.ChildNames()
		for _, nm := range c.AnchorNames() {
			if !slices.Contains(kids, nm) {
				kids = append(kids, nm)
			}
		}
		if len(kids) > 0 && !c.AllowsCascadingDeletion() {
			return fmt.Sprintf("subnamespace %q has children (%s); set allowCascadingDeletion on it or an ancestor to delete them with it (kubectl hns set %s --allowCascadingDeletion)", a.Name, strings.Join(kids, ", "), a.Name)
		}
	}
	return ""
}

func validateMeta(cfg forest.Config, old, cur *api.SubnamespaceAnchor) string {
	var oldSpec api.SubnamespaceAnchorSpec
	if old != nil {
		oldSpec = old.Spec
	}
	if !slices.Equal(oldSpec.Labels, cur.Spec.Labels) {
		if err := cfg.ValidateManagedLabels(cur.Spec.Labels); err != nil {
			return fmt.Sprintf("invalid spec.labels: %v", err)
		}
	}
	if !slices.Equal(oldSpec.Annotations, cur.Spec.Annotations) {
		if err := cfg.ValidateManagedAnnotations(cur.Spec.Annotations); err != nil {
			return fmt.Sprintf("invalid spec.annotations: %v", err)
		}
	}
	return ""
}
