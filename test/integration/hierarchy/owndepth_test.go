package hierarchy

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// A namespace a user creates carries its own depth label from its first
// version (the mutating webhook sets it, the validator accepts it), so the
// manager does not patch it in alone before its parent is known. A user
// still may not claim an ancestor.
func TestNewNamespaceCarriesItsOwnDepthLabel(t *testing.T) {
	ctx := context.Background()
	c := admin(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "own-depth"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if ns.Labels[depth("own-depth")] != "0" || ns.Labels[api.LabelIncludedNamespace] != "true" {
		t.Errorf("created namespace's labels = %v, want its own depth 0 and included", ns.Labels)
	}
	forged := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "own-depth-forged",
		Labels: map[string]string{depth("own-depth"): "1"}}}
	if err := c.Create(ctx, forged); err == nil {
		t.Error("a namespace created claiming an ancestor's tree label was allowed")
	}
}
