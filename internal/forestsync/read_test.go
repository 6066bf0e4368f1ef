package forestsync

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// A subnamespace is read with its anchor's namespace as its parent before
// the hierarchy reconciler has created its HierarchyConfiguration (which
// gets that parent), so its tree labels are written once, whole.
func TestReadSubnamespaceBeforeItsHierarchyConfiguration(t *testing.T) {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(api.AddToScheme(s))
	sub := func(name string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{api.SubnamespaceOf: "p"}}}
	}
	anchor := func(name string) *api.SubnamespaceAnchor {
		return &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: name}}
	}
	hc := func(ns, parent string) *api.HierarchyConfiguration {
		return &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: api.Singleton}, Spec: api.HierarchyConfigurationSpec{Parent: parent}}
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "p"}},
		sub("new"), anchor("new"), // no HierarchyConfiguration yet
		sub("orphan"),                                // its anchor is gone
		sub("done"), anchor("done"), hc("done", "p"), // reconciled
		sub("freed"), anchor("freed"), hc("freed", ""), // an explicit empty parent stands
	}
	sy := New(forest.New())
	sy.reads = fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
	for name, want := range map[string]string{"new": "p", "orphan": "", "done": "p", "freed": ""} {
		st, err := sy.read(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Parent != want {
			t.Errorf("%s: parent %q, want %q", name, st.Parent, want)
		}
	}
	// Once the HierarchyConfiguration CRD is going, nothing is assumed.
	sy.crdDeleting.Store(true)
	if st, err := sy.read(context.Background(), "new"); err != nil || st.Parent != "" {
		t.Errorf("while the CRD is deleted: parent %q (%v), want none", st.Parent, err)
	}
}
