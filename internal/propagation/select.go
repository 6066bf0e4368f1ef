package propagation

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// SelectSource picks the source destNamespace should copy among candidates
// with the same name, ordered from the root down (as returned by
// forest.Namespace.GetAncestorSources): the top-most one that is
// Propagatable and reaches the destination. It returns nil if none does;
// the error joins the unparsable exceptions met on the way (those
// candidates are skipped), for events on the sources.
func SelectSource(candidates []*unstructured.Unstructured, mode api.SynchronizationMode, destNamespace string, destLabels map[string]string, cfg Config) (*unstructured.Unstructured, error) {
	var errs []error
	for _, src := range candidates {
		if ok, _ := cfg.Propagatable(src); !ok {
			continue
		}
		ok, err := ShouldPropagateTo(src, mode, destNamespace, destLabels)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			return src, errors.Join(errs...)
		}
	}
	return nil, errors.Join(errs...)
}

// ConflictError reports that a descendant holds its own object (not a
// copy) with the name of a source in an ancestor; propagation will overwrite
// it.
type ConflictError struct {
	GroupKind       schema.GroupKind
	Name            string
	Namespace       string
	SourceNamespace string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %q in namespace %q conflicts with the source in ancestor %q and will be overwritten",
		e.GroupKind.String(), e.Name, e.Namespace, e.SourceNamespace)
}

// CheckConflict returns a *ConflictError if existing is a descendant's own
// object of the same kind and name as src. A nil existing, or one that is
// already a propagated copy, is no conflict.
func CheckConflict(src, existing *unstructured.Unstructured) error {
	if src == nil || existing == nil || IsCopy(existing) {
		return nil
	}
	if src.GroupVersionKind().GroupKind() != existing.GroupVersionKind().GroupKind() || src.GetName() != existing.GetName() {
		return nil
	}
	return &ConflictError{
		GroupKind:       existing.GroupVersionKind().GroupKind(),
		Name:            existing.GetName(),
		Namespace:       existing.GetNamespace(),
		SourceNamespace: src.GetNamespace(),
	}
}

// FindConflicts lists, for one kind, every source object in the forest that
// an ancestor's source would overwrite if the kind had the given mode: the
// check the HNCConfiguration webhook makes before allowing a switch to
// Propagate or AllowPropagate. The caller holds the forest's lock. Results
// are sorted by namespace, then name. O(sources × depth).
func FindConflicts(f *forest.Forest, gvk schema.GroupVersionKind, mode api.SynchronizationMode, cfg Config) []*ConflictError {
	var out []*ConflictError
	for _, nm := range f.List() {
		ns := f.Lookup(nm)
		for _, name := range ns.GetSourceNames(gvk) {
			cands := ns.GetAncestorSources(gvk, name)
			if len(cands) == 0 {
				continue
			}
			src, _ := SelectSource(cands, mode, nm, ns.SelectorLabels(), cfg)
			if src == nil {
				continue
			}
			if err := CheckConflict(src, ns.GetSourceObject(gvk, name)); err != nil {
				var ce *ConflictError
				if errors.As(err, &ce) {
					out = append(out, ce)
				}
			}
		}
	}
	return out
}
