// Package smoke checks the foundation: the real control plane runs with a
// controller manager beside it, and Canopy's manager serves its webhooks
// through the real API server.
package smoke

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

func TestManagerLabelsIncludedNamespaces(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke-included"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if got := ns.Labels[hncv1.LabelIncludedNamespace]; got != "true" {
		t.Fatalf("label %s = %q, want \"true\" (set by the manager's mutating webhook)", hncv1.LabelIncludedNamespace, got)
	}
	sys := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "kube-system"}, sys); err != nil {
		t.Fatal(err)
	}
	sys.Labels = map[string]string{"touched": "yes"}
	if err := env.Client.Update(ctx, sys); err != nil {
		t.Fatal(err)
	}
	if _, ok := sys.Labels[hncv1.LabelIncludedNamespace]; ok {
		t.Fatalf("excluded namespace kube-system got %s", hncv1.LabelIncludedNamespace)
	}
}

func TestNamespaceDeletionCompletes(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke-deleted"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content", Namespace: ns.Name}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// Without kube-controller-manager's namespace controller the namespace
	// would stay Terminating forever.
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace still present (err=%v)", err)
	})
}

func TestDefaultServiceAccountIsCreated(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke-sa"}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "default"}, &corev1.ServiceAccount{})
	})
}
