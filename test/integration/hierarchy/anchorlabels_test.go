package hierarchy

import (
	"context"
	"maps"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestSubnamespaceBornWithTreeLabels checks that a subnamespace is created
// with the tree labels its place in the tree gives it, and that they never
// change afterwards: the hierarchy reconciler, which labelled it with a
// second write before, finds nothing to patch. Tree-label selectors
// (NetworkPolicies, webhooks' namespaceSelectors) then hold from the
// namespace's first moment, and building a tree through anchors costs one
// write less per namespace.
func TestSubnamespaceBornWithTreeLabels(t *testing.T) {
	createNS(t, "bl-r")
	if err := createAnchor(t, admin(t), "bl-r", "bl-m"); err != nil {
		t.Fatal(err)
	}
	waitTreeLabels(t, "bl-m", map[string]string{depth("bl-r"): "1", depth("bl-m"): "0", "canopy.dev/in-tree": "true"})

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	wc, err := client.NewWithWatch(env.CP.Config, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(ctx, &corev1.NamespaceList{}, &client.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "bl-s")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := createAnchor(t, admin(t), "bl-m", "bl-s"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{depth("bl-r"): "2", depth("bl-m"): "1", depth("bl-s"): "0", "canopy.dev/in-tree": "true"}
	ev := <-w.ResultChan()
	born, ok := ev.Object.(*corev1.Namespace)
	if ev.Type != watch.Added || !ok {
		t.Fatalf("first event on bl-s: %s %T, want the namespace added", ev.Type, ev.Object)
	}
	if got := treeLabelsOf(born); !maps.Equal(got, want) {
		t.Fatalf("bl-s was created with tree labels %v, want %v", got, want)
	}

	// Once the hierarchy reconciler has taken bl-s in (its
	// HierarchyConfiguration names its parent), the labels are unchanged.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		return parentIs(ctx, "bl-s", "bl-m")
	})
	waitTreeLabels(t, "bl-s", want)
	now := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "bl-s"}, now); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(now.Labels, born.Labels) {
		t.Errorf("bl-s labels changed after creation: %v, then %v", born.Labels, now.Labels)
	}
	for {
		select {
		case ev := <-w.ResultChan():
			if ns, ok := ev.Object.(*corev1.Namespace); ok && !maps.Equal(ns.Labels, born.Labels) {
				t.Errorf("bl-s relabelled after creation (%s): %v, then %v", ev.Type, born.Labels, ns.Labels)
			}
		default:
			return
		}
	}
}
