// Package chart checks the Helm chart: it lints, renders with and without
// cert-manager, points every webhook at the chart's Service, and every
// object it renders is accepted by a real API server (server-side dry run).
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/serializer/yaml"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

const helmVersion = "v3.17.3"

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// helm returns the Helm CLI that `make helm-bin` builds into the cache.
func helm(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	h, err := controlplane.CachedBinary("helm-"+helmVersion, "helm", "helm-bin")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, _ := runWithStderr(t, name, args...)
	return out
}

// runWithStderr is run, also returning what the command wrote to stderr
// (kubectl's warnings).
func runWithStderr(t *testing.T, name string, args ...string) ([]byte, string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.String())
	}
	return out, stderr.String()
}

// objects splits a rendered multi-document YAML stream.
func objects(t *testing.T, rendered []byte) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufioReader(rendered))
	dec := yaml.NewDecodingSerializer(unstructured.UnstructuredJSONScheme)
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if _, _, err := dec.Decode(doc, nil, u); err != nil {
			t.Fatalf("decoding rendered object: %v\n%s", err, doc)
		}
		out = append(out, u)
	}
}

func stripComments(doc []byte) string {
	var b strings.Builder
	for _, l := range strings.Split(string(doc), "\n") {
		if l = strings.TrimSpace(l); l != "---" && !strings.HasPrefix(l, "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

// webhookConfigs decodes the rendered webhook configurations.
func webhookConfigs(t *testing.T, objs []*unstructured.Unstructured) (mutating []admissionregistrationv1.MutatingWebhook, validating []admissionregistrationv1.ValidatingWebhook, annotations []map[string]string) {
	t.Helper()
	for _, o := range objs {
		data, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		switch o.GetKind() {
		case "MutatingWebhookConfiguration":
			c := &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := sigsyaml.Unmarshal(data, c); err != nil {
				t.Fatal(err)
			}
			mutating = append(mutating, c.Webhooks...)
			annotations = append(annotations, c.Annotations)
		case "ValidatingWebhookConfiguration":
			c := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := sigsyaml.Unmarshal(data, c); err != nil {
				t.Fatal(err)
			}
			validating = append(validating, c.Webhooks...)
			annotations = append(annotations, c.Annotations)
		}
	}
	return mutating, validating, annotations
}

// sourceWebhookCount is how many webhooks controller-gen generated.
func sourceWebhookCount(t *testing.T, root string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "clientConfig:")
}

func TestChartLints(t *testing.T) {
	run(t, helm(t), "lint", "--strict", filepath.Join(repoRoot(t), "charts", "canopy"))
}

// With cert-manager (webhook.selfManaged=false) the chart asks it for the
// webhook certificate and lets its CA injector fill every caBundle.
func TestChartWithCertManager(t *testing.T) {
	root := repoRoot(t)
	objs := objects(t, run(t, helm(t), "template", "canopy", filepath.Join(root, "charts", "canopy"), "--set", "managerNamespace=tenancy",
		"--set", "webhook.selfManaged=false"))
	got := kinds(objs)
	for _, want := range []string{"Certificate/canopy-webhook-cert", "Issuer/canopy-selfsigned", "Service/canopy-webhook", "Deployment/canopy-manager", "MutatingWebhookConfiguration/canopy-mutating", "ValidatingWebhookConfiguration/canopy-validating", "ClusterRole/canopy-manager"} {
		if !slices.Contains(got, want) {
			t.Errorf("rendered chart lacks %s; it has %v", want, got)
		}
	}
	_, _, annotations := webhookConfigs(t, objs)
	for _, a := range annotations {
		if a["cert-manager.io/inject-ca-from"] != "tenancy/canopy-webhook-cert" {
			t.Errorf("webhook configuration annotations %v, want cert-manager.io/inject-ca-from: tenancy/canopy-webhook-cert", a)
		}
	}
}

// Without cert-manager every webhook carries the given CA bundle, and the
// whole chart, CRDs included and with the monitoring objects on, is
// accepted by a real API server (with prometheus-operator's CRDs
// installed).
func TestChartWithoutCertManagerAppliesToARealAPIServer(t *testing.T) {
	root := repoRoot(t)
	ca := "Y2EtYnVuZGxl" // any base64; the dry run does not check the PEM
	rendered := run(t, helm(t), "template", "canopy", filepath.Join(root, "charts", "canopy"),
		"--include-crds", "--namespace", "canopy-system",
		"--set", "webhook.selfManaged=false", "--set", "webhook.certManager.enabled=false", "--set", "webhook.caBundle="+ca,
		"--set", "cost.openCostURL=http://opencost.opencost:9003", "--set", "cost.sharedNamespaces={kube-system}",
		"--set", "grafana.url=http://grafana.monitoring:3000", "--set", "grafana.credentialsSecret=canopy-system/grafana",
		"--set", "prometheusProxy.prometheusURL=http://prometheus.monitoring:9090",
		"--set", "extraArgs={--cost-interval=30m}", "--set", "excludedNamespaces={hnc-system}",
		"--set", "monitoring.serviceMonitor.enabled=true", "--set", "monitoring.prometheusRule.enabled=true")
	objs := objects(t, rendered)
	got := kinds(objs)
	if slices.Contains(got, "Certificate/canopy-webhook-cert") {
		t.Errorf("a Certificate is rendered with webhook.certManager.enabled=false")
	}
	mutating, validating, _ := webhookConfigs(t, objs)
	if n, want := len(mutating)+len(validating), sourceWebhookCount(t, root); n != want {
		t.Errorf("the chart renders %d webhooks, config/webhook/manifests.yaml has %d (run make chart-sync)", n, want)
	}
	check := func(name string, cc admissionregistrationv1.WebhookClientConfig) {
		if cc.Service == nil || cc.Service.Name != "canopy-webhook" || cc.Service.Namespace != "canopy-system" {
			t.Errorf("webhook %s points at %+v, want the Service canopy-system/canopy-webhook", name, cc.Service)
		}
		if string(cc.CABundle) != "ca-bundle" {
			t.Errorf("webhook %s caBundle %q, want the configured bundle", name, cc.CABundle)
		}
	}
	for _, w := range mutating {
		check(w.Name, w.ClientConfig)
	}
	for _, w := range validating {
		check(w.Name, w.ClientConfig)
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		var args []string
		for _, a := range containers[0].(map[string]any)["args"].([]any) {
			args = append(args, a.(string))
		}
		for _, want := range []string{"--apiserver-qps-throttle=0", "--memory-limit-ratio=0.8", "--opencost-url=http://opencost.opencost:9003", "--cost-shared-namespace=kube-system", "--cost-interval=30m",
			"--excluded-namespace=hnc-system", // docs/migrate-from-hnc.md
			"--grafana-url=http://grafana.monitoring:3000", "--tenant-prometheus-proxy-key-file=/proxy-key/key",
			"--tenant-datasource-url-template=http://canopy-prometheus-proxy.canopy-system.svc:9095/tenants/{{tenant}}"} {
			if !slices.Contains(args, want) {
				t.Errorf("manager args %v lack %s", args, want)
			}
		}
		// Every flag the chart renders is one the manager knows, with a
		// valid value.
		opts := setup.DefaultOptions()
		fs := flag.NewFlagSet("canopy-manager", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		opts.BindFlags(fs)
		zapOpts := zap.Options{}
		zapOpts.BindFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Errorf("the manager refuses the chart's flags %v: %v", args, err)
		} else if err := opts.Validate(); err != nil {
			t.Errorf("the chart's flags %v do not validate: %v", args, err)
		}
	}

	cp, err := controlplane.Start(controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	c, err := client.New(cp.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := controlplane.EnsureNamespace(t.Context(), c, "canopy-system"); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := cp.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(cp.BinDir, "kubectl")
	installMonitoringCRDs(t, kubectl, kubeconfig)
	// The API server's PodSecurity admission warns about a Deployment
	// whose pods the restricted standard would refuse.
	run(t, kubectl, "--kubeconfig", kubeconfig, "label", "namespace", "canopy-system", "pod-security.kubernetes.io/warn=restricted")
	manifest := filepath.Join(t.TempDir(), "canopy.yaml")
	if err := os.WriteFile(manifest, rendered, 0o600); err != nil {
		t.Fatal(err)
	}
	out, warnings := runWithStderr(t, kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", manifest)
	if strings.Contains(warnings, "PodSecurity") {
		t.Errorf("the chart's Deployment violates the restricted Pod Security Standard:\n%s", warnings)
	}
	for _, want := range []string{"deployment.apps/canopy-manager created (server dry run)",
		"apiservice.apiregistration.k8s.io/v1alpha1.cost.canopy.dev created (server dry run)",
		"service/canopy-prometheus-proxy created (server dry run)",
		"clusterrole.rbac.authorization.k8s.io/canopy-finance created (server dry run)", "validatingwebhookconfiguration.admissionregistration.k8s.io/canopy-validating created (server dry run)", "customresourcedefinition.apiextensions.k8s.io/tenants.tenancy.canopy.dev created (server dry run)",
		"prometheusrule.monitoring.coreos.com/canopy created (server dry run)",
		"servicemonitor.monitoring.coreos.com/canopy-manager created (server dry run)",
		"service/canopy-metrics created (server dry run)",
		"poddisruptionbudget.policy/canopy-manager created (server dry run)",
		"configmap/canopy-operations-dashboard created (server dry run)"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("kubectl apply --dry-run=server output lacks %q:\n%s", want, out)
		}
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
