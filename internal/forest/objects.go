package forest

import (
	"maps"
	"reflect"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SetSourceObject stores a copy of a user-created (not propagated) object in
// this namespace, keyed by its GroupVersionKind and name, and reports
// whether the stored copy changed. The copy's namespace is set to ns.
func (ns *Namespace) SetSourceObject(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	if old := ns.sources[gvk][obj.GetName()]; old != nil && old.GetNamespace() == ns.name && reflect.DeepEqual(old.Object, obj.Object) {
		return false
	}
	c := obj.DeepCopy()
	c.SetNamespace(ns.name)
	if ns.sources == nil {
		ns.sources = map[schema.GroupVersionKind]map[string]*unstructured.Unstructured{}
	}
	if ns.sources[gvk] == nil {
		ns.sources[gvk] = map[string]*unstructured.Unstructured{}
	}
	ns.sources[gvk][obj.GetName()] = c
	return true
}

// DeleteSourceObject removes a stored source object and reports whether
// there was one. A namespace that no longer exists is forgotten once its
// last source is gone.
func (ns *Namespace) DeleteSourceObject(gvk schema.GroupVersionKind, name string) bool {
	byName := ns.sources[gvk]
	if _, ok := byName[name]; !ok {
		return false
	}
	delete(byName, name)
	if len(byName) == 0 {
		delete(ns.sources, gvk)
	}
	ns.forest.forget(ns)
	return true
}

// GetSourceObject returns a copy of the stored source object, or nil.
func (ns *Namespace) GetSourceObject(gvk schema.GroupVersionKind, name string) *unstructured.Unstructured {
	if ns == nil {
		return nil
	}
	if obj := ns.sources[gvk][name]; obj != nil {
		return obj.DeepCopy()
	}
	return nil
}

// HasSourceObject reports whether a source object is stored under that name.
func (ns *Namespace) HasSourceObject(gvk schema.GroupVersionKind, name string) bool {
	return ns != nil && ns.sources[gvk][name] != nil
}

// GetSourceNames returns the sorted names of the stored source objects of
// one kind.
func (ns *Namespace) GetSourceNames(gvk schema.GroupVersionKind) []string {
	if ns == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(ns.sources[gvk]))
}

// GetPropagatedSources returns copies of every source object of the kind
// held by an ancestor of ns (not ns itself): the candidates ns may inherit.
// They are ordered from the root down, then by name, so for a given name the
// first candidate that propagates is the one to copy (the top-most source
// wins, as in HNC). It walks up the ancestors only: O(depth + results).
func (ns *Namespace) GetPropagatedSources(gvk schema.GroupVersionKind) []*unstructured.Unstructured {
	if ns == nil {
		return nil
	}
	var out []*unstructured.Unstructured
	chain := ns.parent.selfAndAncestors()
	for i := len(chain) - 1; i >= 0; i-- {
		anc := chain[i]
		if anc == ns {
			continue // ns is its own ancestor when it is in a cycle
		}
		for _, nm := range anc.GetSourceNames(gvk) {
			out = append(out, anc.sources[gvk][nm].DeepCopy())
		}
	}
	return out
}

// GetAncestorSources returns copies of the source objects of that kind and
// name held by ancestors of ns, from the root down.
func (ns *Namespace) GetAncestorSources(gvk schema.GroupVersionKind, name string) []*unstructured.Unstructured {
	if ns == nil {
		return nil
	}
	var out []*unstructured.Unstructured
	chain := ns.parent.selfAndAncestors()
	for i := len(chain) - 1; i >= 0; i-- {
		if anc := chain[i]; anc != ns {
			if obj := anc.sources[gvk][name]; obj != nil {
				out = append(out, obj.DeepCopy())
			}
		}
	}
	return out
}

// CountSources returns the number of source objects of the kind in the
// whole forest (for HNCConfiguration's numSourceObjects). O(forest).
func (f *Forest) CountSources(gvk schema.GroupVersionKind) int {
	n := 0
	for _, ns := range f.namespaces {
		n += len(ns.sources[gvk])
	}
	return n
}
