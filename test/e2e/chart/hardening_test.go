package chart

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The Deployment runs under the restricted Pod Security Standard with a
// read-only root filesystem, asks for the resources values.yaml derives
// from the scale figures, spreads over nodes and zones, and two or more
// replicas get a PodDisruptionBudget.
func TestChartHardening(t *testing.T) {
	chart := filepath.Join(repoRoot(t), "charts", "canopy")
	objs := objects(t, run(t, helm(t), "template", "canopy", chart,
		"--set", "cost.openCostURL=http://opencost.opencost:9003", "--set", "cost.export.enabled=true",
		"--set", "cost.export.persistentVolumeClaim=exports"))
	dep := find(t, objs, "Deployment", "canopy-manager")
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")

	podSC, _, _ := unstructured.NestedMap(pod, "securityContext")
	wantPodSC := map[string]any{"runAsNonRoot": true, "runAsUser": int64(65532), "runAsGroup": int64(65532), "fsGroup": int64(65532),
		"seccompProfile": map[string]any{"type": "RuntimeDefault"}}
	if diff := cmp.Diff(wantPodSC, podSC); diff != "" {
		t.Errorf("pod securityContext (-want +got):\n%s", diff)
	}
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	if len(containers) != 1 {
		t.Fatalf("%d containers, want 1", len(containers))
	}
	c := containers[0].(map[string]any)
	sc, _, _ := unstructured.NestedMap(c, "securityContext")
	wantSC := map[string]any{"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
		"capabilities": map[string]any{"drop": []any{"ALL"}}, "seccompProfile": map[string]any{"type": "RuntimeDefault"}}
	if diff := cmp.Diff(wantSC, sc); diff != "" {
		t.Errorf("container securityContext (-want +got):\n%s", diff)
	}
	res, _, _ := unstructured.NestedMap(c, "resources")
	wantRes := map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "256Mi"}, "limits": map[string]any{"memory": "640Mi"}}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	// With a read-only root, the only writable mounts are the export
	// volume and, with self-managed certificates (the default), /tmp: a
	// 1Mi memory-backed emptyDir where the rotator finds the public
	// certificate (internal/certs).
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	for _, m := range mounts {
		m := m.(map[string]any)
		if m["readOnly"] == true || m["mountPath"] == "/export" {
			continue
		}
		if m["mountPath"] != "/tmp" {
			t.Errorf("volume mount %v is writable; only /export and /tmp should be", m)
			continue
		}
		vols, _, _ := unstructured.NestedSlice(pod, "volumes")
		for _, v := range vols {
			v := v.(map[string]any)
			if v["name"] != m["name"] {
				continue
			}
			want := map[string]any{"name": m["name"], "emptyDir": map[string]any{"medium": "Memory", "sizeLimit": "1Mi"}}
			if diff := cmp.Diff(want, v); diff != "" {
				t.Errorf("the /tmp volume is not a 1Mi memory-backed emptyDir (-want +got):\n%s", diff)
			}
		}
	}

	spread, _, _ := unstructured.NestedSlice(pod, "topologySpreadConstraints")
	var keys []string
	for _, s := range spread {
		s := s.(map[string]any)
		keys = append(keys, s["topologyKey"].(string))
		sel, _, _ := unstructured.NestedStringMap(s, "labelSelector", "matchLabels")
		if sel["app.kubernetes.io/name"] != "canopy" || sel["app.kubernetes.io/instance"] != "canopy" {
			t.Errorf("topology spread %v does not select the manager's pods", s)
		}
	}
	if !slices.Equal(keys, []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}) {
		t.Errorf("topology spread keys %v, want hostname and zone", keys)
	}

	pdb := find(t, objs, "PodDisruptionBudget", "canopy-manager")
	if v, _, _ := unstructured.NestedInt64(pdb.Object, "spec", "maxUnavailable"); v != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %d, want 1", v)
	}
	pdbSel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
	depSel, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "selector", "matchLabels")
	if diff := cmp.Diff(depSel, pdbSel); diff != "" {
		t.Errorf("the PodDisruptionBudget selects other pods than the Deployment (-deployment +pdb):\n%s", diff)
	}

	// One replica: a budget of one unavailable would let a drain take it
	// anyway, and a budget of zero would block every drain; none renders.
	single := kinds(objects(t, run(t, helm(t), "template", "canopy", chart, "--set", "replicas=1")))
	if slices.Contains(single, "PodDisruptionBudget/canopy-manager") {
		t.Errorf("a PodDisruptionBudget renders with replicas=1")
	}
}
