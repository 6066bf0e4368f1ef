package propagation

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// MakeCopy returns the object to write into destNamespace for src. The copy
// keeps src's content (everything but metadata and status) and, of the
// metadata, only the name, labels and annotations: resourceVersion, uid,
// creationTimestamp, generation, managedFields, ownerReferences, selfLink,
// finalizers and the rest are dropped. Labels and annotations in HNC's own
// domain (exception annotations, tree labels) and those listed in cfg are
// removed; hnc.x-k8s.io/inherited-from and app.kubernetes.io/managed-by are
// set. To update an existing copy, set its resourceVersion on the result.
func MakeCopy(src *unstructured.Unstructured, destNamespace string, cfg Config) *unstructured.Unstructured {
	c := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range src.Object {
		if k != "metadata" && k != "status" {
			c.Object[k] = deepCopyValue(v)
		}
	}
	c.SetName(src.GetName())
	c.SetNamespace(destNamespace)

	lbls := keep(src.GetLabels(), cfg.UnpropagatedLabels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	lbls[api.LabelInheritedFrom] = src.GetNamespace()
	lbls[api.LabelManagedByApps] = api.MetaGroup
	c.SetLabels(lbls)
	if annots := keep(src.GetAnnotations(), cfg.UnpropagatedAnnotations); len(annots) > 0 {
		c.SetAnnotations(annots)
	}
	return c
}

func deepCopyValue(v any) any {
	return (&unstructured.Unstructured{Object: map[string]any{"v": v}}).DeepCopy().Object["v"]
}

// keep returns the entries of m outside HNC's domain and not listed in drop.
func keep(m map[string]string, drop []string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if inHNCDomain(k) || slices.Contains(drop, k) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// inHNCDomain reports whether a label or annotation key belongs to HNC
// (hnc.x-k8s.io or a subdomain such as propagate.hnc.x-k8s.io).
func inHNCDomain(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	return ok && (prefix == api.MetaGroup || strings.HasSuffix(prefix, "."+api.MetaGroup))
}

// Equivalent reports whether existing, an object in the destination, already
// matches copy (from MakeCopy) in everything propagation sets: the content,
// the name, the labels and the annotations. Server-set metadata and status
// are ignored, so an unchanged copy is not rewritten.
func Equivalent(copy, existing *unstructured.Unstructured) bool {
	if copy == nil || existing == nil {
		return copy == existing
	}
	if copy.GetName() != existing.GetName() || copy.GroupVersionKind() != existing.GroupVersionKind() {
		return false
	}
	if !maps.Equal(copy.GetLabels(), existing.GetLabels()) || !maps.Equal(copy.GetAnnotations(), existing.GetAnnotations()) {
		return false
	}
	return reflect.DeepEqual(content(copy), content(existing))
}

// content is the object without metadata and status.
func content(u *unstructured.Unstructured) map[string]any {
	out := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "metadata" && k != "status" {
			out[k] = v
		}
	}
	return out
}
