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
	rbacv1 "k8s.io/api/rbac/v1"
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

// Deleting the HierarchyConfiguration CRD deletes every
// HierarchyConfiguration, so every namespace loses its parent. Canopy halts
// instead of treating them as new roots: no propagated copy is removed.
func TestDeletingTheHierarchyCRDRemovesNoCopies(t *testing.T) {
	ctx := context.Background()
	admin := env.Admin(t)
	for _, nm := range []string{"hc-root", "hc-child"} {
		if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nm}}); err != nil {
			t.Fatal(err)
		}
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "hc-child", Name: api.Singleton}}
		hc.Spec.Parent = "hc-root"
		err := admin.Create(ctx, hc)
		if apierrors.IsAlreadyExists(err) {
			cur := &api.HierarchyConfiguration{}
			if err := admin.Get(ctx, client.ObjectKeyFromObject(hc), cur); err != nil {
				return err
			}
			cur.Spec.Parent = "hc-root"
			return admin.Update(ctx, cur)
		}
		return err
	})
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "hc-root", Name: "reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}}
	if err := admin.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	copyKey := client.ObjectKey{Namespace: "hc-child", Name: "reader"}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		return admin.Get(ctx, copyKey, &rbacv1.Role{})
	})

	crd := crdMeta()
	crd.SetName(api.HierarchyConfigurations + "." + api.MetaGroup)
	if err := admin.Delete(ctx, crd); err != nil {
		t.Fatalf("deleting the HierarchyConfiguration CRD: %v", err)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := admin.Get(ctx, client.ObjectKeyFromObject(crd), crdMeta())
		if err == nil {
			return fmt.Errorf("CRD %s still exists", crd.GetName())
		}
		return client.IgnoreNotFound(err)
	})
	// The forest has applied the lost parent once the child's tree labels
	// no longer name the root; propagation hears of the same change.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		ns := &corev1.Namespace{}
		if err := admin.Get(ctx, client.ObjectKey{Name: "hc-child"}, ns); err != nil {
			return err
		}
		if _, ok := ns.Labels["hc-root"+api.LabelTreeDepthSuffix]; ok {
			return fmt.Errorf("hc-child still labelled as under hc-root: %v", ns.Labels)
		}
		return nil
	})
	// And the copy stays, checked over a few seconds.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := admin.Get(ctx, copyKey, &rbacv1.Role{}); err != nil {
			t.Fatalf("the propagated Role in hc-child after the HierarchyConfiguration CRD was deleted: %v", err)
		}
		<-time.After(500 * time.Millisecond)
	}
}
