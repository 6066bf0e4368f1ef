package quota

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// staleRecountFixture is a singleton in "root" charging pods=4 while three
// pods exist, and a handler judging it from that client.
func staleRecountFixture(t *testing.T) (client.Client, *corev1.ResourceQuota, *StatusHandler) {
	t.Helper()
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	}
	rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: quota.UnscopedSingletonName,
		Labels: map[string]string{ctrlquota.LabelSingleton: "true"}},
		Spec: corev1.ResourceQuotaSpec{Hard: rl(t, "pods=100")}, Status: corev1.ResourceQuotaStatus{Used: rl(t, "pods=4")}}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(pod("a"), pod("b"), pod("c"), rq).
		WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(rq), rq); err != nil {
		t.Fatal(err)
	}
	h := &StatusHandler{Forest: chain("root"), Cache: c, Live: c, Decoder: admission.NewDecoder(testScheme()),
		Ledgers: ctrlquota.LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	return c, rq, h
}

// usedOf reads the singleton's status.used.
func usedOf(t *testing.T, c client.Client, rq *corev1.ResourceQuota) string {
	t.Helper()
	cur := &corev1.ResourceQuota{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(rq), cur); err != nil {
		t.Fatal(err)
	}
	return quota.String(cur.Status.Used)
}

// The correction of a stale recount is a write of the singleton, and the
// API server's quota admission, retrying a conflict from its informer
// only three times, refuses a creation when such a write lands while it is
// in flight (seen in the race tests: "the object has been modified"). So
// the correction waits while admissions of the namespace keep coming, and
// lands once they pause.
func TestCorrectionWaitsForAdmissionsToPause(t *testing.T) {
	ctx := context.Background()
	c, rq, h := staleRecountFixture(t)
	h.Admissions = &ctrlquota.Admissions{}
	h.Quiet = 150 * time.Millisecond
	rv := quota.ParseRV(rq.ResourceVersion)

	// Admissions that grow nothing are allowed without a reservation;
	// the handler still sees the namespace busy.
	admit := func() {
		if resp := h.Handle(ctx, statusRequestAt(t, "root", rv, 4, 4)); !resp.Allowed {
			t.Errorf("admission without growth denied: %v", resp.Result)
		}
	}
	admit()
	recount := statusRequestAt(t, "root", rv, 4, 2)
	recount.UserInfo.Username = "system:kube-controller-manager"
	if resp := h.Handle(ctx, recount); resp.Allowed {
		t.Fatal("stale recount allowed")
	}
	busyUntil := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(busyUntil) {
		admit()
		if got := usedOf(t, c, rq); got != "pods=4" {
			t.Fatalf("singleton used = %s while admissions of its namespace kept coming, want pods=4 untouched", got)
		}
		time.Sleep(20 * time.Millisecond) // the pace of a stream of admissions
	}
	deadline := time.Now().Add(5 * time.Second)
	for usedOf(t, c, rq) != "pods=3" {
		if time.Now().After(deadline) {
			t.Fatalf("singleton used = %s after admissions paused, want the corrected pods=3", usedOf(t, c, rq))
		}
		time.Sleep(10 * time.Millisecond) // polling a fake client's state with a deadline
	}
}
