package hierarchy

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

// PropagatedKind is a kind being propagated, with its mode.
type PropagatedKind struct {
	GVK  schema.GroupVersionKind
	Mode api.SynchronizationMode
}

// MoveConflicts lists the objects of nm's subtree (nm included) that a
// source of one of newParent's ancestors (newParent included) would
// overwrite once nm is moved under newParent: HNC's rule that a move must
// not overwrite descendants' own objects. Sources inside the subtree
// already reach it today, so only sources of the new ancestors count. Each
// destination is judged with the tree labels it will have after the move,
// so tree selectors see the new ancestry. The caller holds the forest's
// lock and has ruled out cycles. Results are sorted by namespace, kind and
// name. O(subtree × kinds × own objects × depth).
func MoveConflicts(f *forest.Forest, nm, newParent string, kinds []PropagatedKind, cfg policy.Config) []*policy.ConflictError {
	if newParent == "" || len(kinds) == 0 {
		return nil
	}
	n, p := f.Lookup(nm), f.Lookup(newParent)
	if !n.Exists() || !p.Exists() {
		return nil
	}
	newAncestors := p.AncestryNames() // root first, newParent last
	var out []*policy.ConflictError
	for _, dn := range append([]string{nm}, n.DescendantNames()...) {
		d := f.Lookup(dn)
		chain := d.AncestryNames()
		// chain ends with nm ... dn; keep that part under the new ancestors.
		inSubtree := chain[len(chain)-1-depthBelow(chain, nm):]
		after := append(append([]string{}, newAncestors...), inSubtree...)
		labels := labelsAfterMove(d.SelectorLabels(), after)
		for _, k := range kinds {
			if !policy.Propagates(k.Mode) {
				continue
			}
			for _, name := range d.GetSourceNames(k.GVK) {
				own := d.GetSourceObject(k.GVK, name)
				cands := candidates(f, after[:len(after)-1], k.GVK, name)
				if len(cands) == 0 {
					continue
				}
				sel, _ := policy.SelectSource(cands, k.Mode, dn, labels, cfg)
				if sel == nil || !slices.Contains(newAncestors, sel.GetNamespace()) {
					continue
				}
				if err := policy.CheckConflict(sel, own); err != nil {
					if ce, ok := err.(*policy.ConflictError); ok {
						out = append(out, ce)
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.GroupKind != b.GroupKind {
			return a.GroupKind.String() < b.GroupKind.String()
		}
		return a.Name < b.Name
	})
	return out
}

// depthBelow returns how far below nm the last namespace of chain (root
// first) is.
func depthBelow(chain []string, nm string) int {
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i] == nm {
			return len(chain) - 1 - i
		}
	}
	return 0
}

// candidates returns the sources named name held by the namespaces of
// chain (root first), in that order.
func candidates(f *forest.Forest, chain []string, gvk schema.GroupVersionKind, name string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, a := range chain {
		if obj := f.Lookup(a).GetSourceObject(gvk, name); obj != nil {
			out = append(out, obj)
		}
	}
	return out
}

// labelsAfterMove replaces the tree labels in labels with those of a
// namespace whose ancestry (root first, itself last) is chain.
func labelsAfterMove(labels map[string]string, chain []string) map[string]string {
	out := make(map[string]string, len(labels)+len(chain))
	for k, v := range labels {
		if !strings.HasSuffix(k, api.LabelTreeDepthSuffix) {
			out[k] = v
		}
	}
	for i, a := range chain {
		out[a+api.LabelTreeDepthSuffix] = strconv.Itoa(len(chain) - 1 - i)
	}
	return out
}

// overwriteMessage is the denial for a move that would overwrite objects.
func overwriteMessage(nm, newParent string, conflicts []*policy.ConflictError) string {
	const max = 10
	var parts []string
	for i, c := range conflicts {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(conflicts)-max))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %q in namespace %q (by the one in %q)", c.GroupKind.Kind, c.Name, c.Namespace, c.SourceNamespace))
	}
	return fmt.Sprintf("moving namespace %q under %q would overwrite objects in its subtree with propagated copies: %s; rename or delete them first",
		nm, newParent, strings.Join(parts, ", "))
}

// configKinds reads the propagated kinds from HNCConfiguration's status
// (the modes in force, as the propagation controller reports them, with
// Roles and RoleBindings always among them) and maps them to kinds.
func configKinds(ctx context.Context, c client.Reader, mapper meta.RESTMapper) ([]PropagatedKind, error) {
	out := []PropagatedKind{
		{GVK: schema.GroupVersionKind{Group: api.RBACGroup, Version: "v1", Kind: api.RoleKind}, Mode: api.Propagate},
		{GVK: schema.GroupVersionKind{Group: api.RBACGroup, Version: "v1", Kind: api.RoleBindingKind}, Mode: api.Propagate},
	}
	cfg := &api.HNCConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: api.HNCConfigSingleton}, cfg); err != nil {
		return out, client.IgnoreNotFound(err)
	}
	for _, r := range cfg.Status.Resources {
		if r.Group == api.RBACGroup && (r.Resource == api.RoleResource || r.Resource == api.RoleBindingResource) {
			continue
		}
		if !policy.Propagates(r.Mode) {
			continue
		}
		gvk, err := mapper.KindFor(schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource})
		if err != nil {
			return out, fmt.Errorf("finding the kind of %s: %w", schema.GroupResource{Group: r.Group, Resource: r.Resource}, err)
		}
		out = append(out, PropagatedKind{GVK: gvk, Mode: r.Mode})
	}
	return out, nil
}
