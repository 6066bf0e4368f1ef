package quota

import (
	"encoding/json"
	"errors"
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
				Subresource: "status", FieldsV1: metav1.NewFieldsV1(string(raw))}}},
		Status: corev1.ResourceQuotaStatus{Used: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(n, resource.DecimalSI)}},
	}
}

func TestHistoryBase(t *testing.T) {
	key := types.NamespacedName{Namespace: "team", Name: "s"}
	var h history
	h.forget()
	want := func(rv, base uint64, behind bool) {
		t.Helper()
		got, err := h.base(key, rv)
		if got != base || errors.Is(err, errHistoryBehind) != behind {
			t.Errorf("base(%d) = %d, %v; want %d, behind %v", rv, got, err, base, behind)
		}
	}
	want(10, 10, false) // not seen: its own version
	h.observe(watch.Modified, singletonAt(20, 2, "kube-controller-manager"))
	want(20, 20, false) // the first write seen: what came before it is not known
	h.observe(watch.Modified, singletonAt(30, 3, quota.AdmissionManager))
	h.observe(watch.Modified, singletonAt(40, 5, quota.AdmissionManager))
	want(40, 20, false) // admissions only added since 20
	want(30, 30, true)  // the cache is behind the history
	want(50, 50, true)  // the history is behind the cache
	h.observe(watch.Modified, singletonAt(50, 4, "kube-controller-manager"))
	want(50, 50, false) // a recount
	h.observe(watch.Modified, singletonAt(60, 6, "canopy-manager"))
	h.observe(watch.Modified, singletonAt(70, 7, quota.AdmissionManager))
	want(70, 60, false) // the manager's write may have left a pod out
	h.observe(watch.Deleted, singletonAt(80, 7, quota.AdmissionManager))
	want(90, 90, false) // gone from the history
	h.observe(watch.Added, singletonAt(100, 0, "kube-controller-manager"))
	h.observe(watch.Modified, singletonAt(110, 1, quota.AdmissionManager))
	want(110, 100, false)
	h.forget()
	want(110, 110, false)
}
