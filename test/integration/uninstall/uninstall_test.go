// Package uninstall tests what happens when HNC's CRDs are deleted (an
// uninstall of Canopy or of HNC before it): the API server deletes every
// SubnamespaceAnchor, and Canopy must release them without deleting a
// single subnamespace. It has a control plane of its own, since it
// deletes a CRD every other test relies on.
package uninstall

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/crdstate"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const wait = 60 * time.Second

func TestDeletingTheAnchorCRDKeepsEverySubnamespace(t *testing.T) {
	ctx := context.Background()
	admin := env.Admin(t)
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "un-root"}}); err != nil {
		t.Fatal(err)
	}
	// A leaf subnamespace (which deleting its anchor would delete), and one
	// with a subnamespace of its own under cascading deletion.
	for _, a := range []struct{ parent, name string }{{"un-root", "un-leaf"}, {"un-root", "un-mid"}, {"un-mid", "un-deep"}} {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			err := admin.Create(ctx, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: a.parent, Name: a.name}})
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		})
		framework.Eventually(t, wait, func(ctx context.Context) error {
			anchor := &api.SubnamespaceAnchor{}
			if err := admin.Get(ctx, client.ObjectKey{Namespace: a.parent, Name: a.name}, anchor); err != nil {
				return err
			}
			if anchor.Status.State != api.Ok {
				return fmt.Errorf("anchor %s/%s is %q, want Ok", a.parent, a.name, anchor.Status.State)
			}
			return nil
		})
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		hc := &api.HierarchyConfiguration{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: "un-mid", Name: api.Singleton}, hc); err != nil {
			return err
		}
		hc.Spec.AllowCascadingDeletion = true
		return admin.Update(ctx, hc)
	})
	// A workload in the leaf, so losing it would lose something.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "un-leaf", Name: "data"}, Data: map[string]string{"k": "v"}}
	if err := admin.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}

	crd := crdMeta()
	if err := admin.Delete(ctx, crd); err != nil {
		t.Fatalf("deleting the SubnamespaceAnchor CRD: %v", err)
	}
	// The API server can finish deleting the CRD only once Canopy has
	// released every anchor (and its webhook has let them go).
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := admin.Get(ctx, client.ObjectKeyFromObject(crd), crdMeta())
		if err == nil {
			return fmt.Errorf("CRD %s still exists", crdstate.Anchors)
		}
		return client.IgnoreNotFound(err)
	})
	for _, nm := range []string{"un-root", "un-leaf", "un-mid", "un-deep"} {
		ns := &corev1.Namespace{}
		if err := admin.Get(ctx, client.ObjectKey{Name: nm}, ns); err != nil {
			t.Errorf("namespace %s after the anchor CRD was deleted: %v", nm, err)
			continue
		}
		if ns.DeletionTimestamp != nil {
			t.Errorf("namespace %s is being deleted after the anchor CRD was deleted", nm)
		}
	}
	if err := admin.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err != nil {
		t.Errorf("the leaf's ConfigMap after the anchor CRD was deleted: %v", err)
	}
}

// crdMeta is the anchor CRD, unstructured (the clients' scheme has no
// apiextensions types).
func crdMeta() *unstructured.Unstructured {
	m := &unstructured.Unstructured{}
	m.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	m.SetName(crdstate.Anchors)
	return m
}
