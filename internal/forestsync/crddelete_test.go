package forestsync

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// TestParentLossChecksCRDFirst is the uninstall race seen in CI: the
// informers update their stores before they call handlers, so a resync
// started by another kind's event (the hierarchy reconciler relabelling the
// namespace) can read a HierarchyConfiguration already gone, deleted with
// its CRD, before the HierarchyConfiguration's own delete handler has
// halted the forest. The namespace then became a root, and propagation
// removed every copy in it. A resync that would forget a parent must check
// the CRD first.
func TestParentLossChecksCRDFirst(t *testing.T) {
	for _, tc := range []struct {
		name        string
		crdDeleting bool
		wantHalted  bool
		wantParent  string
	}{
		{name: "CRD being deleted: halted before the parent is forgotten", crdDeleting: true, wantHalted: true, wantParent: ""},
		{name: "CRD in place: the parent is forgotten, nothing halted", crdDeleting: false, wantHalted: false, wantParent: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, api.AddToScheme, apiextensionsv1.AddToScheme} {
				if err := add(scheme); err != nil {
					t.Fatal(err)
				}
			}
			// The cache: both namespaces, the parent's HierarchyConfiguration,
			// but the child's already gone.
			cached := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
				&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}},
				&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-feature"}},
			).Build()
			var objs []client.Object
			if !tc.crdDeleting {
				objs = append(objs, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: hcCRD}})
			}
			live := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()

			f := forest.New()
			f.Lock()
			Apply(f, "team", State{Exists: true})
			Apply(f, "team-feature", State{Exists: true, Parent: "team"})
			f.Unlock()
			s := New(f)
			s.reads, s.reader = cached, live

			s.resync(context.Background(), []string{"team-feature"})

			f.Lock()
			defer f.Unlock()
			ns := f.Lookup("team-feature")
			if halted := ns.HaltedRoot() != ""; halted != tc.wantHalted {
				t.Errorf("team-feature halted = %v, want %v (conditions %v)", halted, tc.wantHalted, ns.Conditions())
			}
			if got := ns.Parent().Name(); got != tc.wantParent {
				t.Errorf("team-feature's parent = %q, want %q", got, tc.wantParent)
			}
		})
	}
}
