package costdemo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CreateNode creates a Ready node at 127.0.0.1 labelled with
// instanceType, with cores and memBytes of capacity and room for 110 pods:
// what OpenCost prices. There is no kubelet to report it.
func CreateNode(ctx context.Context, c client.Client, name, instanceType string, cores, memBytes int64) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewQuantity(cores, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memBytes, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(110, resource.DecimalSI),
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		corev1.LabelHostname: name, corev1.LabelInstanceTypeStable: instanceType,
	}}}
	if err := c.Create(ctx, node); err != nil {
		return fmt.Errorf("creating node %s: %w", name, err)
	}
	now := metav1.Now()
	node.Status = corev1.NodeStatus{
		Capacity: capacity, Allocatable: capacity,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			LastHeartbeatTime: now, LastTransitionTime: now, Reason: "KubeletReady"}},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
	}
	if err := c.Status().Update(ctx, node); err != nil {
		return fmt.Errorf("setting node %s's status: %w", name, err)
	}
	return nil
}

// CreateRunningPod creates a pod on node with one container, "main",
// requesting milliCPU and memBytes, and sets it Running since started (no
// kubelet does). The namespace's default ServiceAccount must exist: the
// ServiceAccount admission plugin needs it.
func CreateRunningPod(ctx context.Context, c client.Client, namespace, name, node string, milliCPU, memBytes int64, started time.Time) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "main", Image: "registry.example/app:1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    *resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
					corev1.ResourceMemory: *resource.NewQuantity(memBytes, resource.BinarySI),
				}},
			}},
		},
	}
	if err := c.Create(ctx, pod); err != nil {
		return fmt.Errorf("creating pod %s/%s: %w", namespace, name, err)
	}
	start := metav1.NewTime(started)
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, StartTime: &start, HostIP: "127.0.0.1", PodIP: "127.0.0.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "main", Image: "registry.example/app:1", Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
		}},
	}
	if err := c.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("setting pod %s/%s Running: %w", namespace, name, err)
	}
	return nil
}

// ReadyExposition fetches OpenCost's /metrics at ocURL and returns it once
// it shows every pod in pods running and prices node; until then, an
// error saying what it lacks.
func ReadyExposition(ctx context.Context, ocURL, node string, pods []types.NamespacedName) (string, error) {
	code, b, err := HTTPGet(ctx, ocURL+"/metrics")
	if err != nil || code != http.StatusOK {
		return "", fmt.Errorf("GET %s/metrics: %d %v", ocURL, code, err)
	}
	for _, p := range pods {
		if !hasLine(b, "kube_pod_container_status_running{", `pod="`+p.Name+`"`) {
			return "", fmt.Errorf("OpenCost does not see pod %s running yet", p)
		}
	}
	if !hasLine(b, "node_total_hourly_cost{", `node="`+node+`"`) {
		return "", fmt.Errorf("OpenCost does not price node %s yet", node)
	}
	return b, nil
}

func hasLine(exposition, prefix, substr string) bool {
	for _, l := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, substr) {
			return true
		}
	}
	return false
}
