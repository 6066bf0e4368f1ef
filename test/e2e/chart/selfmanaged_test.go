package chart

import (
	"flag"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/canopyhq/canopy/internal/setup"
)

// By default the manager issues and rotates its own certificate: the chart
// renders no cert-manager object, no CA bundle and no injection
// annotation, mounts no certificate, and passes flags that turn
// self-management on (no --webhook-cert-dir) with the chart's Secret name.
func TestChartSelfManagedCertsByDefault(t *testing.T) {
	objs := objects(t, run(t, helm(t), "template", "canopy", filepath.Join(repoRoot(t), "charts", "canopy"),
		"--set", "managerNamespace=tenancy", "--set", "cost.openCostURL=http://opencost.opencost:9003"))
	got := kinds(objs)
	for _, unwanted := range []string{"Certificate/canopy-webhook-cert", "Issuer/canopy-selfsigned"} {
		if slices.Contains(got, unwanted) {
			t.Errorf("self-managed chart renders %s", unwanted)
		}
	}
	mutating, validating, annotations := webhookConfigs(t, objs)
	for _, a := range annotations {
		if len(a) != 0 {
			t.Errorf("webhook configuration annotations %v, want none (the manager injects the CA)", a)
		}
	}
	for _, w := range mutating {
		if len(w.ClientConfig.CABundle) != 0 {
			t.Errorf("webhook %s has a caBundle in the chart; the manager injects it", w.Name)
		}
	}
	for _, w := range validating {
		if len(w.ClientConfig.CABundle) != 0 {
			t.Errorf("webhook %s has a caBundle in the chart; the manager injects it", w.Name)
		}
	}
	if len(mutating) == 0 || len(validating) == 0 {
		t.Errorf("the chart renders %d mutating and %d validating webhooks", len(mutating), len(validating))
	}
	api := find(t, objs, "APIService", "v1alpha1.cost.canopy.dev")
	if _, ok, _ := unstructured.NestedString(api.Object, "spec", "caBundle"); ok || len(api.GetAnnotations()) != 0 {
		t.Errorf("APIService has a caBundle or annotations %v; the manager injects the CA", api.GetAnnotations())
	}
	dep := find(t, objs, "Deployment", "canopy-manager")
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	var args []string
	for _, a := range containers[0].(map[string]any)["args"].([]any) {
		args = append(args, a.(string))
	}
	if !slices.Contains(args, "--cert-secret=canopy-webhook-cert") {
		t.Errorf("manager args %v lack --cert-secret=canopy-webhook-cert", args)
	}
	opts := setup.DefaultOptions()
	fs := flag.NewFlagSet("canopy-manager", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("the manager refuses the chart's flags %v: %v", args, err)
	}
	if !opts.Certs.SelfManaged || opts.WebhookCertDir != "" || opts.Certs.Secret != "canopy-webhook-cert" {
		t.Errorf("the chart's flags %v give self-managed=%v, webhook cert dir %q, secret %q; want self-managed certificates in canopy-webhook-cert",
			strings.Join(args, " "), opts.Certs.SelfManaged, opts.WebhookCertDir, opts.Certs.Secret)
	}
}
