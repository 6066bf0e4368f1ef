package quota

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
)

// TestHRQStatusFollowsUsageAtOnce is HNC's quickstart as a user runs it: a
// service created in a subnamespace of a quiet tree shows in the HRQ's
// status.used (`kubectl hns hrq`) at once, not after the quota
// reconciler's status batch (ctrlquota.StatusBatch). HNC's own quickstart
// spec allows 2 s for it, and a batched reconcile alone takes one to two.
// Each service is created once the tree has been quiet for two refresh
// periods: a change may arm one more refresh a period later, and a service
// created right after that one would wait a period for its own.
func TestHRQStatusFollowsUsageAtOnce(t *testing.T) {
	tree(t, "hst-org", "hst-a=hst-org", "hst-b=hst-org")
	hrq(t, "hst-org", "org", "services=5", "hst-org", "hst-a", "hst-b")
	c := admin(t)
	var lags []time.Duration
	for i := range 4 {
		<-time.After(2*ctrlquota.StatusRefresh + 500*time.Millisecond)
		ns := []string{"hst-a", "hst-b"}[i%2]
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("svc-%d", i)},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Port: 80}}}}
		if err := c.Create(context.Background(), svc); err != nil {
			t.Fatalf("creating service %s/%s: %v", ns, svc.Name, err)
		}
		created := time.Now()
		want := int64(i + 1)
		var got int64
		for deadline := created.Add(wait); got != want; <-time.After(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("service %d: the HRQ's status.used shows %d services after %v, want %d", i, got, wait, want)
			}
			h := &hncv1.HierarchicalResourceQuota{}
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: "hst-org", Name: "org"}, h); err != nil {
				continue
			}
			u := h.Status.Used[corev1.ResourceServices]
			got = u.Value()
		}
		lags = append(lags, time.Since(created))
	}
	t.Logf("HRQ status.used followed each service after %v", lags)
	for i, lag := range lags {
		if lag >= ctrlquota.StatusBatch {
			t.Errorf("service %d showed in the HRQ's status after %v, want under the status batch (%v): a quiet tree's status waited for the batched reconcile", i, lag, ctrlquota.StatusBatch)
		}
	}
}

// TestHRQStatusSettlesAfterABurst: the HRQ's status.used shows what a burst
// of creations left soon after the burst, not up to StatusRefresh later.
// A status left at a burst's middle is read as its outcome: after the
// two-replica race over one namespace had filled its 100 pods, the HRQ
// still showed the 80 written midway when 20 pods were deleted; the refill,
// fired on that 80, met a singleton still charging the 20 and was refused
// whole.
func TestHRQStatusSettlesAfterABurst(t *testing.T) {
	tree(t, "hsb-org", "hsb-a=hsb-org", "hsb-b=hsb-org")
	hrq(t, "hsb-org", "org", "pods=50", "hsb-org", "hsb-a", "hsb-b")
	const n = 20
	var lags []time.Duration
	for round := range 2 {
		<-time.After(2*ctrlquota.StatusRefresh + 500*time.Millisecond)
		// Not burst (race_test.go): it returns only after its usage
		// sampler and a last List, tens of milliseconds after the last
		// creation, which is when the lag here must start.
		errs := make(chan error, n)
		start := make(chan struct{})
		for i := range n {
			go func() {
				<-start
				ns := []string{"hsb-a", "hsb-b"}[i%2]
				errs <- createPod(ns, fmt.Sprintf("p%d-%d", round, i))
			}()
		}
		close(start)
		for range n {
			if err := <-errs; err != nil {
				t.Fatalf("creating a pod: %v", err)
			}
		}
		done := time.Now()
		waitHRQUsed(t, "hsb-org", "org", corev1.ResourcePods, int64((round+1)*n))
		lags = append(lags, time.Since(done))
	}
	t.Logf("HRQ status.used showed each burst's outcome %v after its last creation", lags)
	for i, lag := range lags {
		if lag >= ctrlquota.StatusRefresh/2 {
			t.Errorf("burst %d showed in the HRQ's status %v after its last creation, want under %v: the status stayed at the burst's middle until its next periodic refresh", i, lag, ctrlquota.StatusRefresh/2)
		}
	}
}
