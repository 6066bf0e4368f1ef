package controlplane

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestRestartAPIServer stops kube-apiserver, checks it is gone, and
// restarts it on the same port with the same certificates and etcd data.
func TestRestartAPIServer(t *testing.T) {
	cp, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Error(err)
		}
	})
	c, err := client.New(cp.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}); err == nil {
		t.Fatal("the API server answered after StopAPIServer")
	}
	if err := cp.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	// The same client (same address, CA and admin certificate) reads the
	// namespace written before the stop.
	if err := c.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	// A second cycle stops the restarted process, which Stop also stops.
	if err := cp.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if err := cp.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
}
