// Package hierarchy validates HierarchyConfigurations: the singleton name,
// legal parents, cycles, subnamespace parents, managed metadata, moves that
// would overwrite descendants' own objects with propagated copies, and the
// authorization of moves. Decide, MoveConflicts and AuthzNamespaces are pure
// and read the forest under its lock; Handle reads the propagated types from
// HNCConfiguration's status (cached), runs the SubjectAccessReviews
// AuthzNamespaces asks for as the requesting user and never writes to the
// API.
package hierarchy

import (
	"fmt"
	"slices"

	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// Request is a create or update of a HierarchyConfiguration. Old is nil on
// create.
type Request struct {
	Old, New    *api.HierarchyConfiguration
	FromManager bool
}

// Decide returns "" to allow the request or the reason to deny it, without
// authorization (see AuthzNamespaces). The caller holds the forest's lock.
func Decide(f *forest.Forest, r Request) string {
	hc := r.New
	if hc.Name != api.Singleton {
		return fmt.Sprintf("HierarchyConfigurations must be named %q, not %q", api.Singleton, hc.Name)
	}
	cfg := f.Config()
	nm := hc.Namespace
	oldParent := ""
	var oldSpec api.HierarchyConfigurationSpec
	if r.Old != nil {
		oldParent, oldSpec = r.Old.Spec.Parent, r.Old.Spec
	}
	if !slices.Equal(oldSpec.Labels, hc.Spec.Labels) {
		if err := cfg.ValidateManagedLabels(hc.Spec.Labels); err != nil {
			return fmt.Sprintf("invalid spec.labels: %v", err)
		}
	}
	if !slices.Equal(oldSpec.Annotations, hc.Spec.Annotations) {
		if err := cfg.ValidateManagedAnnotations(hc.Spec.Annotations); err != nil {
			return fmt.Sprintf("invalid spec.annotations: %v", err)
		}
	}
	newParent := hc.Spec.Parent
	if newParent == oldParent {
		return ""
	}
	ns := f.Lookup(nm)
	if ns.IsSub() && !r.FromManager {
		return fmt.Sprintf("namespace %q is a subnamespace of %q; its parent cannot be changed (delete its anchor and create a new one instead)", nm, oldParent)
	}
	if newParent == "" {
		return ""
	}
	if why := cfg.WhyExcluded(nm); why != "" {
		return fmt.Sprintf("namespace %q cannot have a parent: it is %s", nm, why)
	}
	if why := cfg.WhyExcluded(newParent); why != "" {
		return fmt.Sprintf("namespace %q cannot be a parent: it is %s", newParent, why)
	}
	p := f.Lookup(newParent)
	if !p.Exists() {
		return fmt.Sprintf("parent %q does not exist", newParent)
	}
	if ns.WouldCreateCycle(p) {
		return fmt.Sprintf("setting the parent of %q to %q would create a cycle: %q is %s", nm, newParent, newParent, cycleWhy(nm, newParent))
	}
	return ""
}

// DecideDelete decides a user's delete of namespace nm's
// HierarchyConfiguration, which would make nm a root: a subnamespace's
// parent cannot change, and a full namespace leaving its tree needs what a
// move to no parent needs. It returns the reason for a denial, or "", and
// the namespaces AuthzNamespaces asks permission in. The caller holds the
// forest's lock.
func DecideDelete(f *forest.Forest, nm string) (string, []string) {
	ns := f.Lookup(nm)
	p := ns.Parent()
	if p == nil {
		return "", nil
	}
	if ns.IsSub() {
		return fmt.Sprintf("namespace %q is a subnamespace of %q; deleting its HierarchyConfiguration would change its parent (delete its anchor instead)", nm, p.Name()), nil
	}
	return "", AuthzNamespaces(f, nm, p.Name(), "")
}

func cycleWhy(nm, parent string) string {
	if nm == parent {
		return "the namespace itself"
	}
	return fmt.Sprintf("a descendant of %q", nm)
}

// AuthzNamespaces returns the namespaces in whose HierarchyConfiguration the
// user must be allowed to "update" for a move of nm from oldParent to
// newParent (HNC's rule). The caller holds the forest's lock.
//
//   - Within one tree: the most recent common ancestor of the old and the
//     new parent.
//   - A root (or a namespace whose parent is missing) moving into a tree:
//     the new parent.
//   - A namespace becoming a root: the root of its current tree.
//   - Across trees: the old root and the new parent.
func AuthzNamespaces(f *forest.Forest, nm, oldParent, newParent string) []string {
	if oldParent == newParent {
		return nil
	}
	op := f.Lookup(oldParent)
	if oldParent == "" || !op.Exists() {
		if newParent == "" {
			return nil
		}
		return []string{newParent}
	}
	oldChain := op.AncestryNames() // root first
	oldRoot := oldChain[0]
	if newParent == "" {
		return []string{oldRoot}
	}
	newChain := f.Lookup(newParent).AncestryNames()
	mrca := ""
	for i := 0; i < len(oldChain) && i < len(newChain) && oldChain[i] == newChain[i]; i++ {
		mrca = oldChain[i]
	}
	if mrca != "" {
		return []string{mrca}
	}
	if oldRoot == newParent {
		return []string{oldRoot}
	}
	return []string{oldRoot, newParent}
}
