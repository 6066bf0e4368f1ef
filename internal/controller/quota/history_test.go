package quota

import (
	"encoding/json"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/canopyhq/canopy/internal/quota"
)

// singletonAt is the singleton team/s at rv with pods=n, its pods written
// by manager.
func singletonAt(rv uint64, n int64, manager string) *corev1.ResourceQuota {
	raw, _ := json.Marshal(map[string]any{"f:status": map[string]any{"f:used": map[string]any{"f:pods": map[string]any{}}}})
	return &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "s", ResourceVersion: strconv.FormatUint(rv, 10),
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate,
				Subresource: "status", FieldsV1: &metav1.FieldsV1{Raw: raw}}}},
		Status: corev1.ResourceQuotaStatus{Used: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(n, resource.DecimalSI)}},
	}
}

func TestHistoryLatest(t *testing.T) {
	key := types.NamespacedName{Namespace: "team", Name: "s"}
	var h history
	h.forget()
	want := func(rv, lowered uint64, pods int64) {
		t.Helper()
		rq, got, ok := h.latest(key)
		if !ok {
			t.Fatalf("latest: nothing, want version %d", rv)
		}
		if quota.ParseRV(rq.ResourceVersion) != rv || got != lowered || rq.Status.Used.Pods().Value() != pods || rq.ManagedFields != nil {
			t.Errorf("latest = version %s, pods %s, managed fields %v, lowered %d; want %d, %d, none, %d",
				rq.ResourceVersion, rq.Status.Used.Pods(), rq.ManagedFields, got, rv, pods, lowered)
		}
	}
	none := func() {
		t.Helper()
		if _, _, ok := h.latest(key); ok {
			t.Error("latest: found, want nothing")
		}
	}
	none()
	h.observe(watch.Modified, singletonAt(20, 2, "kube-controller-manager"))
	want(20, 20, 2) // the first write seen: what came before it is not known
	h.observe(watch.Modified, singletonAt(30, 3, quota.AdmissionManager))
	h.observe(watch.Modified, singletonAt(40, 5, quota.AdmissionManager))
	want(40, 20, 5) // admissions only added since 20
	h.observe(watch.Modified, singletonAt(50, 4, "kube-controller-manager"))
	want(50, 50, 4) // a recount
	h.observe(watch.Modified, singletonAt(60, 6, "canopy-manager"))
	h.observe(watch.Modified, singletonAt(70, 7, quota.AdmissionManager))
	want(70, 60, 7) // the manager's write may have left a pod out
	h.observe(watch.Modified, singletonAt(80, 6, quota.AdmissionManager))
	want(80, 80, 6) // the API server never lowers; if it did, it counts
	h.observe(watch.Deleted, singletonAt(90, 6, quota.AdmissionManager))
	none()
	h.observe(watch.Added, singletonAt(100, 0, "kube-controller-manager"))
	h.observe(watch.Modified, singletonAt(110, 1, quota.AdmissionManager))
	want(110, 100, 1)
	h.forget()
	none()
}
