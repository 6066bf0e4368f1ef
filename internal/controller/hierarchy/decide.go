package hierarchy

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// Model is what the forest decides for one namespace, taken under the lock.
type Model struct {
	// Excluded namespaces carry none of Canopy's labels and get no
	// HierarchyConfiguration.
	Excluded bool
	// TreeLabels, ManagedLabels and ManagedAnnotations are what the
	// Namespace object should carry.
	TreeLabels, ManagedLabels, ManagedAnnotations map[string]string
	// InTree is true if the namespace has a parent or children.
	InTree bool
	// Children are status.children.
	Children []string
	// Conditions are status.conditions, times and generation filled in.
	Conditions []metav1.Condition
	// HasAnchors is true while the namespace holds SubnamespaceAnchors; its
	// HierarchyConfiguration then carries hnc.x-k8s.io/hasSubnamespace.
	HasAnchors bool
}

// TakeModel computes the Model of ns. The caller holds the forest's lock
// and has called ns.RefreshConditions. generation and existing come from
// the current HierarchyConfiguration (zero and nil without one).
func TakeModel(cfg forest.Config, ns *forest.Namespace, generation int64, existing []metav1.Condition, now metav1.Time) Model {
	if cfg.IsExcluded(ns.Name()) {
		return Model{Excluded: true}
	}
	children := ns.ChildNames()
	return Model{
		TreeLabels:         ns.TreeLabels(),
		ManagedLabels:      ns.ManagedLabels(),
		ManagedAnnotations: ns.ManagedAnnotations(),
		InTree:             ns.Parent() != nil || len(children) > 0,
		Children:           children,
		Conditions:         ns.StatusConditions(generation, existing, now),
		HasAnchors:         len(ns.AnchorNames()) > 0,
	}
}

// NewSubnamespaceModel is the Model TakeModel will compute for a
// subnamespace name about to be created under parent, once the forest holds
// it and its parent link: it has no children, anchors, conditions or
// metadata but its anchor's yet, so its tree labels are the parent's one
// level deeper plus its own, and its managed metadata is the anchor's
// spec.labels and spec.annotations overwritten by the parent's. The anchor
// reconciler creates the namespace with these labels, which spares the
// patch the hierarchy reconciler would otherwise make at once; if the
// forest has changed meanwhile, that reconciler still writes what differs.
// The caller holds the forest's lock.
func NewSubnamespaceModel(cfg forest.Config, parent *forest.Namespace, name string, spec api.SubnamespaceAnchorSpec) Model {
	if cfg.IsExcluded(name) {
		return Model{Excluded: true}
	}
	tree := map[string]string{name + api.LabelTreeDepthSuffix: "0"}
	for k, v := range parent.TreeLabels() {
		if d, err := strconv.Atoi(v); err == nil {
			tree[k] = strconv.Itoa(d + 1)
		}
	}
	return Model{
		TreeLabels:         tree,
		ManagedLabels:      inheritedBelow(spec.Labels, cfg.IsManagedLabel, parent.ManagedLabels()),
		ManagedAnnotations: inheritedBelow(spec.Annotations, cfg.IsManagedAnnotation, parent.ManagedAnnotations()),
		InTree:             true,
	}
}

// inheritedBelow is forest's inheritance for a namespace whose own
// requests are own: its allowed keys, overwritten by its ancestors'.
func inheritedBelow(own []api.MetaKVP, allowed func(string) bool, ancestors map[string]string) map[string]string {
	out := map[string]string{}
	for _, kvp := range own {
		if allowed(kvp.Key) {
			out[kvp.Key] = kvp.Value
		}
	}
	maps.Copy(out, ancestors)
	return out
}

// DesiredLabels returns the labels the Namespace should carry given its
// current ones: stale tree labels and managed labels removed, the model's
// added, and the included-namespace and in-tree labels set or removed. It
// returns current itself (and false) when nothing changes.
func DesiredLabels(cfg forest.Config, current map[string]string, m Model) (map[string]string, bool) {
	out := map[string]string{}
	for k, v := range current {
		switch {
		case strings.HasSuffix(k, api.LabelTreeDepthSuffix),
			k == forest.LabelInTree, k == api.LabelIncludedNamespace,
			cfg.IsManagedLabel(k) && !m.Excluded:
			continue
		}
		out[k] = v
	}
	if !m.Excluded {
		maps.Copy(out, m.ManagedLabels)
		maps.Copy(out, m.TreeLabels)
		out[api.LabelIncludedNamespace] = "true"
		if m.InTree {
			out[forest.LabelInTree] = "true"
		}
	}
	if maps.Equal(out, current) {
		return current, false
	}
	return out, true
}

// DesiredAnnotations is DesiredLabels for the managed annotations. The
// subnamespace-of annotation is never touched here.
func DesiredAnnotations(cfg forest.Config, current map[string]string, m Model) (map[string]string, bool) {
	if m.Excluded {
		return current, false
	}
	out := map[string]string{}
	for k, v := range current {
		if !cfg.IsManagedAnnotation(k) {
			out[k] = v
		}
	}
	maps.Copy(out, m.ManagedAnnotations)
	if maps.Equal(out, current) {
		return current, false
	}
	return out, true
}

// HierarchyAction says what to do with the HierarchyConfiguration.
type HierarchyAction int

// The actions DesiredHierarchy returns.
const (
	HierarchyNone HierarchyAction = iota
	HierarchyCreate
	HierarchyUpdate
)

// DesiredHierarchy decides the namespace's HierarchyConfiguration. hc is the
// current object (nil if there is none), subnamespaceOf the namespace's
// subnamespace-of annotation and terminating whether the namespace is being
// deleted. It returns the object to create or update (a modified copy) and
// the action; HierarchyNone means no write.
//
// A missing singleton is created only when it has something to say: the
// namespace is a subnamespace (spec.parent is its anchor's namespace), has
// children or conditions, or needs the finalizer. A subnamespace's
// spec.parent is kept equal to its subnamespace-of annotation, as HNC does.
// While the CRD is being deleted (the DeletingCRD condition) nothing is
// created and the finalizer is removed.
func DesiredHierarchy(name, subnamespaceOf string, terminating bool, hc *api.HierarchyConfiguration, m Model) (*api.HierarchyConfiguration, HierarchyAction) {
	if m.Excluded {
		return nil, HierarchyNone
	}
	// While the CRD is being deleted (an uninstall), create nothing and
	// drop the finalizer, so the API server can finish (HNC #824).
	deletingCRD := slices.ContainsFunc(m.Conditions, func(c metav1.Condition) bool { return c.Reason == api.ReasonDeletingCRD })
	if hc == nil {
		if terminating || deletingCRD || (subnamespaceOf == "" && len(m.Children) == 0 && len(m.Conditions) == 0 && !m.HasAnchors) {
			return nil, HierarchyNone
		}
		out := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: api.Singleton}}
		out.Spec.Parent = subnamespaceOf
		out.Status.Children = m.Children
		out.Status.Conditions = m.Conditions
		if m.HasAnchors {
			out.Finalizers = []string{api.FinalizerHasSubnamespace}
		}
		return out, HierarchyCreate
	}
	out := hc.DeepCopy()
	if subnamespaceOf != "" {
		out.Spec.Parent = subnamespaceOf
	}
	out.Status.Children = m.Children
	out.Status.Conditions = m.Conditions
	has := slices.Contains(out.Finalizers, api.FinalizerHasSubnamespace)
	switch {
	case m.HasAnchors && !has && hc.DeletionTimestamp == nil && !deletingCRD:
		out.Finalizers = append(out.Finalizers, api.FinalizerHasSubnamespace)
	case (!m.HasAnchors || deletingCRD) && has:
		out.Finalizers = slices.DeleteFunc(out.Finalizers, func(f string) bool { return f == api.FinalizerHasSubnamespace })
	}
	if equality.Semantic.DeepEqual(out.Spec, hc.Spec) && equality.Semantic.DeepEqual(out.Status, hc.Status) && slices.Equal(out.Finalizers, hc.Finalizers) {
		return nil, HierarchyNone
	}
	return out, HierarchyUpdate
}
