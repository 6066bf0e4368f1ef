package kubectl

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// node is one namespace as the plugin sees it.
type node struct {
	name string
	// parent is the HierarchyConfiguration's spec.parent, or, without one,
	// the ancestor the tree labels place at depth 1.
	parent string
	// children are sorted and unique.
	children     []string
	subnamespace bool
	conditions   []metav1.Condition
}

// forest is the plugin's read-only view of the hierarchy, keyed by
// namespace name. It is built once per command and never locked.
type forest map[string]*node

// get returns the named node, or a bare one for a namespace the forest does
// not hold (a child listed in status that has since been deleted).
func (f forest) get(name string) *node {
	if n, ok := f[name]; ok {
		return n
	}
	return &node{name: name}
}

// inCycle reports whether HNC has flagged the namespace as part of a cycle.
func (n *node) inCycle() bool {
	for _, c := range n.conditions {
		if c.Reason == hncv1.ReasonInCycle {
			return true
		}
	}
	return false
}

// roots are the namespaces `tree -A` starts from: those with no parent, a
// parent that does not exist, or a place in a cycle (which has no root).
// Any namespace still unreachable from those (a loop HNC has not flagged
// yet) becomes a root too, so every namespace is drawn.
func (f forest) roots() []string {
	var out []string
	for name, n := range f {
		if _, ok := f[n.parent]; n.parent == "" || !ok || n.inCycle() {
			out = append(out, name)
		}
	}
	reached := map[string]bool{}
	for _, r := range out {
		f.reach(r, reached)
	}
	names := make([]string, 0, len(f))
	for name := range f {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !reached[name] {
			out = append(out, name)
			f.reach(name, reached)
		}
	}
	slices.Sort(out)
	return out
}

// reach marks name and everything below it.
func (f forest) reach(name string, reached map[string]bool) {
	if reached[name] {
		return
	}
	reached[name] = true
	for _, c := range f.get(name).children {
		f.reach(c, reached)
	}
}

// parentFromTreeLabels returns the ancestor at depth 1, if any.
func parentFromTreeLabels(labels map[string]string) string {
	for k, v := range labels {
		if v == "1" && strings.HasSuffix(k, hncv1.LabelTreeDepthSuffix) {
			return strings.TrimSuffix(k, hncv1.LabelTreeDepthSuffix)
		}
	}
	return ""
}

// newNode builds a node from a namespace and its (possibly empty)
// HierarchyConfiguration.
func newNode(ns *corev1.Namespace, hc *hncv1.HierarchyConfiguration) *node {
	n := &node{name: ns.Name, parent: parentFromTreeLabels(ns.Labels)}
	_, n.subnamespace = ns.Annotations[hncv1.SubnamespaceOf]
	if hc != nil {
		n.parent = hc.Spec.Parent
		n.conditions = hc.Status.Conditions
		n.children = append(n.children, hc.Status.Children...)
	}
	return n
}

// buildForest is the pure half of loadForestAll: it joins namespaces and
// HierarchyConfigurations, then adds every namespace to its parent's
// children, so a child the parent's status has not caught up with is still
// shown.
func buildForest(namespaces []corev1.Namespace, hcs []hncv1.HierarchyConfiguration) forest {
	byNS := make(map[string]*hncv1.HierarchyConfiguration, len(hcs))
	for i := range hcs {
		if hcs[i].Name == hncv1.Singleton {
			byNS[hcs[i].Namespace] = &hcs[i]
		}
	}
	f := make(forest, len(namespaces))
	for i := range namespaces {
		f[namespaces[i].Name] = newNode(&namespaces[i], byNS[namespaces[i].Name])
	}
	for _, n := range f {
		if p, ok := f[n.parent]; ok && n.parent != n.name {
			p.children = append(p.children, n.name)
		}
	}
	for _, n := range f {
		slices.Sort(n.children)
		n.children = slices.Compact(n.children)
	}
	return f
}

// loadForestAll reads the whole cluster with two List calls.
func loadForestAll(ctx context.Context, c client.Client) (forest, error) {
	var nsl corev1.NamespaceList
	if err := c.List(ctx, &nsl); err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	var hcl hncv1.HierarchyConfigurationList
	if err := c.List(ctx, &hcl); err != nil {
		return nil, fmt.Errorf("listing hierarchy configurations: %w", err)
	}
	return buildForest(nsl.Items, hcl.Items), nil
}

// loadForestFrom walks down from roots through status.children, reading
// each namespace and its HierarchyConfiguration with a Get. A missing root
// is an error; a missing descendant (deleted since its parent's status was
// written) is shown as a bare name.
func loadForestFrom(ctx context.Context, c client.Client, roots []string) (forest, error) {
	f := forest{}
	isRoot := map[string]bool{}
	for _, r := range roots {
		isRoot[r] = true
	}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, seen := f[name]; seen {
			continue
		}
		ns := &corev1.Namespace{}
		if err := c.Get(ctx, types.NamespacedName{Name: name}, ns); err != nil {
			if isRoot[name] || !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("reading namespace %s: %w", name, err)
			}
			ns.Name = name
		}
		hc, err := getHierarchy(ctx, c, name)
		if err != nil {
			return nil, err
		}
		n := newNode(ns, hc)
		slices.Sort(n.children)
		n.children = slices.Compact(n.children)
		f[name] = n
		queue = append(queue, n.children...)
	}
	return f, nil
}

// getHierarchy reads a namespace's HierarchyConfiguration. When there is
// none it returns an unsaved one (empty CreationTimestamp), as HNC does.
func getHierarchy(ctx context.Context, c client.Client, ns string) (*hncv1.HierarchyConfiguration, error) {
	hc := &hncv1.HierarchyConfiguration{}
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: hncv1.Singleton}, hc)
	if apierrors.IsNotFound(err) {
		hc = &hncv1.HierarchyConfiguration{}
		hc.Namespace, hc.Name = ns, hncv1.Singleton
		return hc, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading hierarchy for %s: %w", ns, err)
	}
	return hc, nil
}
