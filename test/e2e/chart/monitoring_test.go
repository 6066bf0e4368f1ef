package chart

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"
)

// The monitoring.coreos.com CRDs come from prometheus-operator's own Go
// module (Apache-2.0) at this exact version, from the Go module proxy: the
// PrometheusRule and ServiceMonitor the chart renders are dry-run against
// the schemas prometheus-operator itself serves.
const (
	promOperatorModule  = "github.com/prometheus-operator/prometheus-operator"
	promOperatorVersion = "v0.85.0"
)

var monitoringCRDFiles = []string{
	"example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
	"example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
}

// monitoringCRDs returns the paths of the two CRDs in the module cache,
// downloading the module once.
func monitoringCRDs(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", promOperatorModule+"@"+promOperatorVersion)
	cmd.Dir = t.TempDir() // outside Canopy's module: its go.mod is not touched
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v\n%s%s", promOperatorModule, promOperatorVersion, err, out, stderr.String())
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s@%s gave no directory (%v): %s", promOperatorModule, promOperatorVersion, err, out)
	}
	var paths []string
	for _, f := range monitoringCRDFiles {
		p := filepath.Join(mod.Dir, filepath.FromSlash(f))
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// installMonitoringCRDs creates the CRDs for real (a dry-run CRD serves no
// resource) and waits until the API server serves them.
func installMonitoringCRDs(t *testing.T, kubectl, kubeconfig string) {
	t.Helper()
	for _, p := range monitoringCRDs(t) {
		run(t, kubectl, "--kubeconfig", kubeconfig, "create", "-f", p)
	}
	run(t, kubectl, "--kubeconfig", kubeconfig, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/prometheusrules.monitoring.coreos.com", "crd/servicemonitors.monitoring.coreos.com")
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("rendered chart lacks %s/%s; it has %v", kind, name, kinds(objs))
	return nil
}

// The monitoring objects render only when asked for, the PrometheusRule
// carries exactly the groups promtool checks, and the ServiceMonitor
// scrapes the metrics Service as job canopy-metrics, the job the alerts
// select.
func TestChartMonitoring(t *testing.T) {
	root := repoRoot(t)
	chart := filepath.Join(root, "charts", "canopy")
	off := kinds(objects(t, run(t, helm(t), "template", "canopy", chart)))
	for _, k := range []string{"PrometheusRule/canopy", "ServiceMonitor/canopy-manager"} {
		if slices.Contains(off, k) {
			t.Errorf("%s renders by default; it needs prometheus-operator's CRDs and must be asked for", k)
		}
	}
	for _, k := range []string{"Service/canopy-metrics", "ConfigMap/canopy-operations-dashboard"} {
		if !slices.Contains(off, k) {
			t.Errorf("%s does not render by default", k)
		}
	}

	objs := objects(t, run(t, helm(t), "template", "canopy", chart,
		"--set", "monitoring.serviceMonitor.enabled=true", "--set", "monitoring.prometheusRule.enabled=true",
		"--set", "monitoring.serviceMonitor.labels.release=kps"))
	rule := find(t, objs, "PrometheusRule", "canopy")
	data, err := os.ReadFile(filepath.Join(root, "charts", "canopy", "files", "prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := sigsyaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	spec, _, _ := unstructured.NestedMap(rule.Object, "spec")
	if diff := cmp.Diff(file, spec); diff != "" {
		t.Errorf("the PrometheusRule's spec differs from files/prometheus-rules.yaml (-file +spec):\n%s", diff)
	}

	sm := find(t, objs, "ServiceMonitor", "canopy-manager")
	if got := sm.GetLabels()["release"]; got != "kps" {
		t.Errorf("ServiceMonitor labels %v lack release=kps", sm.GetLabels())
	}
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	svc := find(t, objs, "Service", "canopy-metrics")
	for k, v := range sel {
		if svc.GetLabels()[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, which Service canopy-metrics (labels %v) lacks", k, v, svc.GetLabels())
		}
	}
	if webhook := find(t, objs, "Service", "canopy-webhook"); webhook.GetLabels()["app.kubernetes.io/component"] == sel["app.kubernetes.io/component"] {
		t.Errorf("the ServiceMonitor also selects the webhook Service")
	}
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if len(endpoints) != 1 || len(ports) != 1 || endpoints[0].(map[string]any)["port"] != ports[0].(map[string]any)["name"] {
		t.Errorf("ServiceMonitor endpoints %v do not name the metrics Service's port %v", endpoints, ports)
	}

	cm := find(t, objs, "ConfigMap", "canopy-operations-dashboard")
	dash, _, _ := unstructured.NestedString(cm.Object, "data", "canopy-operations.json")
	var model struct{ UID string }
	if err := json.Unmarshal([]byte(dash), &model); err != nil || model.UID != "canopy-operations" {
		t.Errorf("the operations dashboard ConfigMap holds no dashboard with uid canopy-operations (%v)", err)
	}
}
