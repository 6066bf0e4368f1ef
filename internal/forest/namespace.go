package forest

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// Namespace is one node of the forest. Obtain it from Forest.Get or
// Forest.Lookup, and use it only while holding the forest's lock.
type Namespace struct {
	forest *Forest
	name   string
	exists bool
	// mark is the number of the last walk that visited ns (Forest.marks).
	mark uint64

	parent   *Namespace
	children map[string]*Namespace

	// isSub is true if the namespace carries the subnamespace-of annotation.
	isSub bool
	// anchors are the names of the SubnamespaceAnchors in this namespace.
	anchors map[string]bool
	// allowCascadingDeletion mirrors spec.allowCascadingDeletion.
	allowCascadingDeletion bool
	// hierarchyVersion is the resourceVersion, as an etcd revision, of the
	// HierarchyConfiguration this record reflects: 0 without one.
	hierarchyVersion uint64
	// labels are the labels of the Namespace object itself, used by
	// propagation selectors.
	labels map[string]string

	// meta holds the managed labels and annotations requested by this
	// namespace's HierarchyConfiguration and, for subnamespaces, its anchor.
	meta managedMeta

	// conditions are the local conditions, keyed by reason.
	conditions map[Reason]string

	// sources are the user-created objects, by GVK then name.
	sources map[schema.GroupVersionKind]map[string]*unstructured.Unstructured
}

// Name returns the namespace's name, or "" for a nil namespace.
func (ns *Namespace) Name() string {
	if ns == nil {
		return ""
	}
	return ns.name
}

// HierarchyVersion is the resourceVersion (an etcd revision) of the
// HierarchyConfiguration the namespace's record reflects, 0 without one. A
// quota hold on a move counts until the forest reflects a later version
// (quota.Hold).
func (ns *Namespace) HierarchyVersion() uint64 {
	if ns == nil {
		return 0
	}
	return ns.hierarchyVersion
}

// SetHierarchyVersion records the version of the HierarchyConfiguration
// the record reflects. It changes nothing derived, so it reports nothing.
func (ns *Namespace) SetHierarchyVersion(v uint64) { ns.hierarchyVersion = v }

// Exists reports whether the Namespace object has been seen in the API.
func (ns *Namespace) Exists() bool { return ns != nil && ns.exists }

// SetExists records whether the Namespace object exists and reports whether
// that changed. A namespace that stops existing loses its parent (its
// HierarchyConfiguration is gone with it), and the forest forgets it once
// nothing else refers to it.
func (ns *Namespace) SetExists(exists bool) bool {
	if ns.exists == exists {
		return false
	}
	ns.exists = exists
	ns.forest.structure++
	if !exists {
		ns.SetParent(nil)
		ns.forest.forget(ns)
	}
	return true
}

// IsSub reports whether the namespace is a subnamespace (it carries the
// hnc.x-k8s.io/subnamespace-of annotation).
func (ns *Namespace) IsSub() bool { return ns != nil && ns.isSub }

// SetIsSub records whether the namespace is a subnamespace and reports
// whether that changed.
func (ns *Namespace) SetIsSub(isSub bool) bool {
	changed := ns.isSub != isSub
	ns.isSub = isSub
	return changed
}

// SetAnchors records the SubnamespaceAnchors present in this namespace and
// returns the sorted names that were added or removed, so the caller can
// enqueue those subnamespaces.
func (ns *Namespace) SetAnchors(names []string) []string {
	next := make(map[string]bool, len(names))
	for _, nm := range names {
		next[nm] = true
	}
	var diff []string
	for nm := range next {
		if !ns.anchors[nm] {
			diff = append(diff, nm)
		}
	}
	for nm := range ns.anchors {
		if !next[nm] {
			diff = append(diff, nm)
		}
	}
	ns.anchors = next
	sort.Strings(diff)
	return diff
}

// AnchorNames returns the sorted names of the anchors in this namespace.
func (ns *Namespace) AnchorNames() []string {
	return slices.Sorted(maps.Keys(ns.anchors))
}

// HasAnchor reports whether this namespace holds an anchor for the named
// subnamespace.
func (ns *Namespace) HasAnchor(name string) bool { return ns != nil && ns.anchors[name] }

// SetAllowCascadingDeletion mirrors spec.allowCascadingDeletion and reports
// whether it changed.
func (ns *Namespace) SetAllowCascadingDeletion(allow bool) bool {
	changed := ns.allowCascadingDeletion != allow
	ns.allowCascadingDeletion = allow
	return changed
}

// AllowsCascadingDeletion reports whether this namespace or any ancestor
// sets allowCascadingDeletion, which lets subnamespaces below it be deleted
// with their anchors. The walk stops at a cycle.
func (ns *Namespace) AllowsCascadingDeletion() bool {
	for _, anc := range ns.selfAndAncestors() {
		if anc.allowCascadingDeletion {
			return true
		}
	}
	return false
}

// SetLabels records the labels of the Namespace object (tree labels
// included), as used by propagation selectors, and reports whether they
// changed. The map is copied.
func (ns *Namespace) SetLabels(labels map[string]string) bool {
	if maps.Equal(ns.labels, labels) {
		return false
	}
	ns.labels = maps.Clone(labels)
	return true
}

// Labels returns a copy of the labels recorded by SetLabels.
func (ns *Namespace) Labels() map[string]string { return maps.Clone(ns.labels) }

// SelectorLabels returns the labels propagation selectors should match for
// this namespace, as the object will carry them once reconciled: the
// recorded labels without any tree or managed label, plus the tree and
// managed labels the model computes.
func (ns *Namespace) SelectorLabels() map[string]string {
	out := map[string]string{}
	for k, v := range ns.labels {
		if !strings.HasSuffix(k, api.LabelTreeDepthSuffix) && !ns.forest.cfg.IsManagedLabel(k) {
			out[k] = v
		}
	}
	maps.Copy(out, ns.ManagedLabels())
	maps.Copy(out, ns.TreeLabels())
	return out
}
