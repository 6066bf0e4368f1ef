package fleettest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Pod is a pause pod. Nothing schedules it on these control planes (no
// scheduler, no nodes), but it counts against quota and it is a workload.
func Pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}}
}

// CreatePods creates pods in s, each admitted; it retries while the
// namespace's default ServiceAccount is not there yet, which the API
// server's ServiceAccount admission requires.
func CreatePods(t testing.TB, s *Site, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		Eventually(t, 60*time.Second, fmt.Sprintf("creating pod %s/%s in %s", p.Namespace, p.Name, s.Name), func() error {
			err := s.C.Create(context.Background(), p.DeepCopy())
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota") {
				t.Fatalf("%s denied pod %s/%s within its allocation: %v", s.Name, p.Namespace, p.Name, err)
			}
			return err
		})
	}
}

// ExpectPodDenied creates pod p in s and wants it refused by the tenant
// quota at its limit of limit pods; a pod admitted by mistake is deleted.
func ExpectPodDenied(t testing.TB, s *Site, p *corev1.Pod, limit string) {
	t.Helper()
	err := s.C.Create(context.Background(), p)
	if err == nil {
		t.Errorf("%s admitted pod %s/%s beyond its allocation of %s pods", s.Name, p.Namespace, p.Name, limit)
		_ = s.C.Delete(context.Background(), p)
		return
	}
	for _, f := range []string{"exceeded quota", `"tenant-quota"`, "limited: pods=" + limit} {
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), f) {
			t.Errorf("%s: pod %s/%s beyond the allocation: %v, want Forbidden containing %q", s.Name, p.Namespace, p.Name, err, f)
		}
	}
}

// DeletePods deletes every pod in the namespaces of s.
func DeletePods(t testing.TB, s *Site, namespaces ...string) {
	t.Helper()
	for _, ns := range namespaces {
		if err := s.C.DeleteAllOf(context.Background(), &corev1.Pod{}, client.InNamespace(ns)); err != nil {
			t.Fatalf("deleting pods in %s/%s: %v", s.Name, ns, err)
		}
	}
}
