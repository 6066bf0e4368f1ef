package forestsync

import (
	"slices"

	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// State is everything the forest records about one namespace, as read from
// the API (or the cache).
type State struct {
	// Exists is false once the Namespace object is gone.
	Exists bool
	// Labels are the Namespace object's labels.
	Labels map[string]string
	// SubnamespaceOf is the hnc.x-k8s.io/subnamespace-of annotation, "" if
	// the namespace is not a subnamespace.
	SubnamespaceOf string

	// Parent, AllowCascadingDeletion, HCLabels and HCAnnotations come from
	// the namespace's HierarchyConfiguration; all are zero without one.
	Parent                 string
	AllowCascadingDeletion bool
	HCLabels               []api.MetaKVP
	HCAnnotations          []api.MetaKVP
	// HCVersion is the HierarchyConfiguration's resourceVersion as an etcd
	// revision, 0 without one (forest.Namespace.HierarchyVersion).
	HCVersion uint64

	// Anchors are the names of the SubnamespaceAnchors in this namespace.
	Anchors []string

	// AnchorFound is true if the anchor that created this subnamespace
	// exists in the SubnamespaceOf namespace; AnchorLabels and
	// AnchorAnnotations are its spec.
	AnchorFound       bool
	AnchorLabels      []api.MetaKVP
	AnchorAnnotations []api.MetaKVP
}

// Apply records st for the named namespace in f, whose lock the caller
// holds, and returns the sorted names whose derived state may have changed:
// the namespace itself, its old and new parents, its descendants and the
// members of any cycle it is in, plus subnamespaces whose anchor appeared or
// vanished. It refreshes the local conditions of every returned namespace.
// It returns nil if nothing changed.
func Apply(f *forest.Forest, name string, st State) []string {
	if !st.Exists && f.Lookup(name) == nil {
		// Never seen and still absent (an anchor naming a namespace not yet
		// created): do not leave a placeholder behind.
		return nil
	}
	ns := f.Get(name)
	if ns == nil {
		return nil
	}
	oldParent := ns.Parent().Name()
	oldCycle := ns.CycleNames()

	changed := ns.Exists() != st.Exists
	if st.Exists {
		changed = ns.SetExists(true) || changed
	}
	changed = ns.SetLabels(st.Labels) || changed
	changed = ns.SetIsSub(st.SubnamespaceOf != "") || changed
	changed = ns.SetAllowCascadingDeletion(st.AllowCascadingDeletion) || changed
	changed = ns.SetHierarchyMetadata(st.HCLabels, st.HCAnnotations) || changed
	if st.AnchorFound {
		changed = ns.SetAnchorMetadata(st.AnchorLabels, st.AnchorAnnotations) || changed
	} else {
		changed = ns.ClearAnchorMetadata() || changed
	}
	anchorDiff := ns.SetAnchors(st.Anchors)
	parent := ""
	if st.Exists {
		parent = st.Parent
	}
	changed = ns.SetParent(f.Get(parent)) || changed
	if st.Exists {
		ns.SetHierarchyVersion(st.HCVersion)
	} else {
		ns.SetHierarchyVersion(0)
	}

	affected := map[string]bool{}
	for _, sub := range anchorDiff {
		affected[sub] = true
	}
	if len(anchorDiff) > 0 {
		// This namespace's finalizer follows its anchors.
		affected[name] = true
	}
	if changed {
		affected[name] = true
		// Collect the neighbourhood before a vanished namespace is
		// forgotten.
		for _, nm := range ns.DescendantNames() {
			affected[nm] = true
		}
		for _, nm := range append(ns.CycleNames(), oldCycle...) {
			affected[nm] = true
		}
		if oldParent != "" {
			affected[oldParent] = true
		}
		if parent != "" {
			affected[parent] = true
		}
	}
	if !st.Exists {
		ns.SetExists(false)
	}
	if len(affected) == 0 {
		return nil
	}
	out := make([]string, 0, len(affected))
	for nm := range affected {
		out = append(out, nm)
		// Keep conditions current on every replica, not only where the
		// leader's reconciler runs, since webhooks read them.
		if a := f.Lookup(nm); a.Exists() {
			a.RefreshConditions()
		}
	}
	slices.Sort(out)
	return out
}
