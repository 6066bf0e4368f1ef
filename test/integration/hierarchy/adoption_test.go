package hierarchy

import (
	"context"
	"fmt"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestAdoption stops the manager and removes Canopy's validating webhooks,
// as before an installation that takes over from HNC, writes HNC-style
// objects and a forged label, then starts Canopy and expects it to fix
// everything.
func TestAdoption(t *testing.T) {
	ctx := context.Background()
	env.StopManager()
	started := false
	defer func() {
		if !started {
			if err := env.StartManager(env.Options); err != nil {
				t.Errorf("restarting the manager: %v", err)
			}
		}
	}()
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "canopy-validating"}, vwc); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, vwc); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		vwc.ResourceVersion, vwc.UID, vwc.ManagedFields, vwc.CreationTimestamp = "", "", nil, metav1.Time{}
		if err := env.Client.Create(ctx, vwc); err != nil {
			t.Fatalf("restoring webhooks: %v", err)
		}
	}

	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "ad-a"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ad-b"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ad-c", Labels: map[string]string{depth("bogus"): "4", "canopy.dev/in-tree": "false"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ad-s", Annotations: map[string]string{api.SubnamespaceOf: "ad-a"}}},
	} {
		if err := admin(t).Create(ctx, ns); err != nil {
			restore()
			t.Fatal(err)
		}
	}
	for child, parent := range map[string]string{"ad-b": "ad-a", "ad-c": "ad-b"} {
		if err := setParent(admin(t), child, parent); err != nil {
			restore()
			t.Fatal(err)
		}
	}
	if err := createAnchor(t, admin(t), "ad-a", "ad-s"); err != nil {
		restore()
		t.Fatal(err)
	}
	restore()
	if err := env.StartManager(env.Options); err != nil {
		t.Fatal(err)
	}
	started = true

	waitTreeLabels(t, "ad-c", map[string]string{depth("ad-a"): "2", depth("ad-b"): "1", depth("ad-c"): "0", "canopy.dev/in-tree": "true"})
	waitTreeLabels(t, "ad-s", map[string]string{depth("ad-a"): "1", depth("ad-s"): "0", "canopy.dev/in-tree": "true"})
	waitAnchorState(t, "ad-a", "ad-s", api.Ok)
	framework.Eventually(t, wait, func(ctx context.Context) error {
		hc, err := getHC(ctx, "ad-a")
		if err != nil {
			return err
		}
		if !slices.Equal(hc.Status.Children, []string{"ad-b", "ad-s"}) || !slices.Contains(hc.Finalizers, api.FinalizerHasSubnamespace) {
			return fmt.Errorf("ad-a: children %v finalizers %v", hc.Status.Children, hc.Finalizers)
		}
		return parentIs(ctx, "ad-s", "ad-a")
	})
}
