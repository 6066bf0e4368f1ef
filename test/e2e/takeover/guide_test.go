package takeover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// The steps of docs/migrate-from-hnc.md this file performs.

// HNC v1.1.0's webhook configurations, as its release manifests name them;
// the guide deletes them by these names.
const (
	hncValidating = "hnc-validating-webhook-configuration"
	hncMutating   = "hnc-mutating-webhook-configuration"
	hncNamespace  = "hnc-system"
)

// renderHNC renders HNC v1.1.0's "hrq" release variant (HNC with
// hierarchical quotas, and its webhooks managing their own certificates)
// from HNC's own kustomize sources, with kubectl.
func renderHNC(t *testing.T, hncBin string) []*unstructured.Unstructured {
	t.Helper()
	kubectl, err := controlplane.CachedBinary("k8s-"+controlplane.K8sVersion, "kubectl", "k8s-bins")
	if err != nil {
		t.Fatal(err)
	}
	variant := filepath.Join(filepath.Dir(hncBin), "src", "config", "variants", "hrq")
	out, err := exec.Command(kubectl, "kustomize", variant).Output()
	if err != nil {
		t.Fatalf("rendering HNC's release manifests from %s: %v", variant, err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decoding HNC's release manifests: %v", err)
		}
		objs = append(objs, u)
	}
}

// crdPaths returns the CRDs of a cluster running HNC before Canopy is
// installed: HNC's, as its release defines them, which the guide keeps
// (Helm installs no CRD that exists), and Canopy's own two kinds.
func crdPaths(t *testing.T, hncBin string) []string {
	t.Helper()
	var buf bytes.Buffer
	n := 0
	for _, u := range renderHNC(t, hncBin) {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		b, err := sigsyaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
		n++
	}
	if n != 4 {
		t.Fatalf("HNC's release manifests hold %d CRDs, want 4", n)
	}
	hncCRDs := filepath.Join(t.TempDir(), "hnc-crds.yaml")
	if err := os.WriteFile(hncCRDs, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	bases := filepath.Join(framework.RepoRoot(), "config", "crd", "bases")
	return []string{hncCRDs, filepath.Join(bases, "tenancy.canopy.dev_tenants.yaml"), filepath.Join(bases, "tenancy.canopy.dev_hierarchicalquotas.yaml")}
}

// installHNCWebhooks creates the webhook configurations of HNC's release.
// Nothing serves them here (HNC runs with --no-webhooks: out of cluster
// it has no certificate), so they are installed only once HNC has built
// its tree, and they then fail exactly as they do once HNC's Deployment is
// scaled to zero.
func installHNCWebhooks(t *testing.T, c client.Client, hncBin string) {
	t.Helper()
	var installed []string
	for _, u := range renderHNC(t, hncBin) {
		if k := u.GetKind(); k != "ValidatingWebhookConfiguration" && k != "MutatingWebhookConfiguration" {
			continue
		}
		if err := c.Create(context.Background(), u); err != nil {
			t.Fatalf("installing HNC's %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		installed = append(installed, u.GetName())
	}
	if strings.Join(installed, ",") != hncMutating+","+hncValidating {
		t.Fatalf("HNC's release manifests hold webhook configurations %v, want %s and %s (the names the guide deletes)", installed, hncMutating, hncValidating)
	}
}

// removeHNCWebhooks is the guide's second step. Before it, HNC's
// webhooks, failing closed with nothing serving them, refuse namespace
// writes everywhere; after it, no webhook calls HNC's namespace.
func removeHNCWebhooks(t *testing.T, c client.Client) {
	t.Helper()
	ctx := context.Background()
	err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tk-window"}})
	if err == nil || !strings.Contains(err.Error(), `failed calling webhook "namespaces.hnc.x-k8s.io"`) {
		t.Fatalf("with HNC stopped and its webhooks installed, creating a namespace returned %v; want a failed call to HNC's namespace webhook", err)
	}
	for _, o := range []client.Object{
		&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: hncValidating}},
		&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: hncMutating}},
	} {
		if err := c.Delete(ctx, o); err != nil {
			t.Fatalf("deleting %s: %v", o.GetName(), err)
		}
	}
	// The guide's check: no webhook left calls a Service in hnc-system.
	if left := webhooksCalling(t, c, hncNamespace); len(left) > 0 {
		t.Fatalf("webhooks still calling %s: %v", hncNamespace, left)
	}
	mustCreate(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "tk-window"}})
}

// webhooksCalling lists the webhooks whose Service is in namespace ns.
func webhooksCalling(t *testing.T, c client.Client, ns string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	vwcs := &admissionregistrationv1.ValidatingWebhookConfigurationList{}
	mwcs := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	if err := c.List(ctx, vwcs); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, mwcs); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range vwcs.Items {
		for _, w := range cfg.Webhooks {
			if s := w.ClientConfig.Service; s != nil && s.Namespace == ns {
				out = append(out, cfg.Name+"/"+w.Name)
			}
		}
	}
	for _, cfg := range mwcs.Items {
		for _, w := range cfg.Webhooks {
			if s := w.ClientConfig.Service; s != nil && s.Namespace == ns {
				out = append(out, cfg.Name+"/"+w.Name)
			}
		}
	}
	return out
}

// assertHNCSystemExcluded checks the guide's --excluded-namespace=hnc-system:
// Canopy refuses to put HNC's namespace in a tree.
func assertHNCSystemExcluded(t *testing.T, adm client.Client) {
	t.Helper()
	err := adm.Create(context.Background(), &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: hncNamespace, Name: "tk-in-hnc-system"}})
	if err == nil || !strings.Contains(err.Error(), "excluded by the administrator") {
		t.Fatalf("creating an anchor in %s returned %v; want a refusal naming the exclusion", hncNamespace, err)
	}
}

// rollBackToHNC is the guide's rollback: stop Canopy, remove its webhook
// configurations, start HNC again. HNC then manages the tree Canopy left: a
// new subnamespace gets its tree labels, the propagated objects and HNC's
// ResourceQuota singleton for the HRQ, and HNC's copies are still there.
func rollBackToHNC(t *testing.T, env *framework.Env, c, adm client.Client, hncBin string, hncCfg *rest.Config) {
	t.Helper()
	env.StopManager()
	_ = removeWebhooks(t, c)
	hnc := startHNC(t, hncBin, hncCfg)
	defer func() {
		hnc.stop()
		if t.Failed() {
			t.Logf("HNC's log after the rollback:\n%s", hnc.log.String())
		}
	}()
	const back = "tk-back"
	mustCreate(t, adm, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: back}})
	waitAnchor(t, adm, types.NamespacedName{Namespace: root, Name: back}, api.Ok)
	waitLabels(t, adm, back, map[string]string{depth(root): "1", depth(back): "0", forest.LabelInTree: ""})
	for _, obj := range sources() {
		framework.Eventually(t, timeout, func(ctx context.Context) error { return isCopy(ctx, adm, obj, back) })
	}
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		rq := &corev1.ResourceQuota{}
		if err := adm.Get(ctx, client.ObjectKey{Namespace: back, Name: quota.UnscopedSingletonName}, rq); err != nil {
			return fmt.Errorf("HNC's ResourceQuota singleton in %s: %w", back, err)
		}
		if _, ok := rq.Spec.Hard[corev1.ResourcePods]; !ok {
			return fmt.Errorf("HNC's singleton in %s has no pods limit: %v", back, rq.Spec.Hard)
		}
		return nil
	})
	for _, ns := range []string{mid, leaf, sub} {
		for _, obj := range sources() {
			framework.Eventually(t, timeout, func(ctx context.Context) error { return isCopy(ctx, adm, obj, ns) })
		}
	}
}
