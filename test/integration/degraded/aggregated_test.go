package degraded

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// TestCostAPIDownHoldsNamespaceDeletions measures the one outage effect
// outside Canopy's trees that no webhook causes: with the cost API
// registered (the chart's cost.api.enabled with an OpenCost URL) and no
// replica serving it, the API server's discovery fails for
// cost.canopy.dev, and the namespace controller finishes no namespace
// deletion until it answers again. The APIService here points at a port
// nothing listens on, which is what it points at when every replica is
// down.
func TestCostAPIDownHoldsNamespaceDeletions(t *testing.T) {
	ctx := context.Background()
	c := env.Admin(t)
	port, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "canopy-cost-api", Namespace: env.Options.Forest.ManagerNamespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	create(t, c, svc)
	t.Cleanup(func() { _ = c.Delete(context.Background(), svc) })
	apiSvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": costapi.Version + "." + costapi.Group},
		"spec": map[string]any{
			"group": costapi.Group, "version": costapi.Version,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"insecureSkipTLSVerify": true,
			"service":               map[string]any{"name": svc.Name, "namespace": svc.Namespace, "port": int64(port)},
		},
	}}
	create(t, c, apiSvc)
	removed := false
	removeAPIService := func() {
		if err := client.IgnoreNotFound(c.Delete(context.Background(), apiSvc)); err != nil {
			t.Errorf("deleting the APIService: %v", err)
		}
		removed = true
	}
	t.Cleanup(func() {
		if !removed {
			removeAPIService()
		}
	})

	const nm = "dg-cost"
	create(t, c, ns(nm))
	waitNamespace(t, c, nm, "")
	if err := c.Delete(ctx, ns(nm)); err != nil {
		t.Fatalf("deleting namespace %s: %v", nm, err)
	}
	start := time.Now()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: nm}, n); err != nil {
			return fmt.Errorf("namespace %s: %w (want it held in Terminating)", nm, err)
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NamespaceDeletionDiscoveryFailure && cond.Status == corev1.ConditionTrue {
				if !strings.Contains(cond.Message, costapi.Group) {
					return fmt.Errorf("namespace %s: discovery failed, but not for %s: %s", nm, costapi.Group, cond.Message)
				}
				return nil
			}
		}
		return fmt.Errorf("namespace %s: no discovery failure yet: %+v", nm, n.Status.Conditions)
	})
	held := time.Since(start)
	// Held, not just slow: it is still there a few seconds later.
	<-time.After(3 * time.Second)
	if err := c.Get(ctx, client.ObjectKey{Name: nm}, &corev1.Namespace{}); err != nil {
		t.Fatalf("namespace %s went while the cost API was down: %v", nm, err)
	}

	removeAPIService()
	start = time.Now()
	waitGone(t, c, ns(nm), wait)
	t.Logf("cost API down: namespace deletion held (discovery failure reported after %v); gone %v after the APIService was removed",
		held.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
