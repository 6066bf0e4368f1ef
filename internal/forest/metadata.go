package forest

import (
	"slices"

	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// managedMeta is the managed metadata a namespace asks for itself.
type managedMeta struct {
	hcLabels, hcAnnotations []api.MetaKVP
	// anchorSet is true once the anchor that created this subnamespace has
	// been seen; its spec then replaces the HierarchyConfiguration's.
	anchorSet                 bool
	anchorLabels, anchorAnnot []api.MetaKVP
}

// SetHierarchyMetadata records spec.labels and spec.annotations of the
// namespace's HierarchyConfiguration and reports whether they changed.
func (ns *Namespace) SetHierarchyMetadata(labels, annotations []api.MetaKVP) bool {
	changed := !slices.Equal(ns.meta.hcLabels, labels) || !slices.Equal(ns.meta.hcAnnotations, annotations)
	ns.meta.hcLabels = slices.Clone(labels)
	ns.meta.hcAnnotations = slices.Clone(annotations)
	return changed
}

// SetAnchorMetadata records spec.labels and spec.annotations of the
// SubnamespaceAnchor (in the parent) that created this subnamespace, and
// reports whether they changed. As in HNC, for a subnamespace the anchor's
// metadata replaces the HierarchyConfiguration's.
func (ns *Namespace) SetAnchorMetadata(labels, annotations []api.MetaKVP) bool {
	changed := !ns.meta.anchorSet || !slices.Equal(ns.meta.anchorLabels, labels) || !slices.Equal(ns.meta.anchorAnnot, annotations)
	ns.meta.anchorSet = true
	ns.meta.anchorLabels = slices.Clone(labels)
	ns.meta.anchorAnnot = slices.Clone(annotations)
	return changed
}

// ClearAnchorMetadata forgets the anchor's metadata (the anchor is gone) and
// reports whether there was any.
func (ns *Namespace) ClearAnchorMetadata() bool {
	changed := ns.meta.anchorSet
	ns.meta.anchorSet, ns.meta.anchorLabels, ns.meta.anchorAnnot = false, nil, nil
	return changed
}

// ownLabels and ownAnnotations return the metadata the namespace requests
// for itself, before validation.
func (ns *Namespace) ownLabels() []api.MetaKVP {
	if ns.isSub && ns.meta.anchorSet {
		return ns.meta.anchorLabels
	}
	return ns.meta.hcLabels
}

func (ns *Namespace) ownAnnotations() []api.MetaKVP {
	if ns.isSub && ns.meta.anchorSet {
		return ns.meta.anchorAnnot
	}
	return ns.meta.hcAnnotations
}

// IllegalManagedLabels returns the keys this namespace requests that the
// Config does not allow, in spec order without repeats.
func (ns *Namespace) IllegalManagedLabels() []string {
	return illegal(ns.ownLabels(), ns.forest.cfg.IsManagedLabel)
}

// IllegalManagedAnnotations is IllegalManagedLabels for annotations.
func (ns *Namespace) IllegalManagedAnnotations() []string {
	return illegal(ns.ownAnnotations(), ns.forest.cfg.IsManagedAnnotation)
}

func illegal(kvps []api.MetaKVP, allowed func(string) bool) []string {
	var out []string
	for _, kvp := range kvps {
		if !allowed(kvp.Key) && !slices.Contains(out, kvp.Key) {
			out = append(out, kvp.Key)
		}
	}
	return out
}

// ManagedLabels returns the managed labels the Namespace object should
// carry: the legal keys requested by ns and by its ancestors, up to the
// same point as TreeLabels. When ns and an ancestor set the same key, the
// ancestor's value wins, as in HNC (a namespace cannot override what its
// ancestors impose). Returns nil if there are none.
func (ns *Namespace) ManagedLabels() map[string]string {
	return ns.inherited(func(anc *Namespace) []api.MetaKVP { return anc.ownLabels() }, ns.forest.cfg.IsManagedLabel)
}

// ManagedAnnotations is ManagedLabels for annotations.
func (ns *Namespace) ManagedAnnotations() map[string]string {
	return ns.inherited(func(anc *Namespace) []api.MetaKVP { return anc.ownAnnotations() }, ns.forest.cfg.IsManagedAnnotation)
}

func (ns *Namespace) inherited(own func(*Namespace) []api.MetaKVP, allowed func(string) bool) map[string]string {
	var out map[string]string
	// labelChain is nearest first; later (higher) namespaces overwrite.
	for _, anc := range ns.labelChain() {
		for _, kvp := range own(anc) {
			if !allowed(kvp.Key) {
				continue
			}
			if out == nil {
				out = map[string]string{}
			}
			out[kvp.Key] = kvp.Value
		}
	}
	return out
}
