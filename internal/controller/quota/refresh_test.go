package quota

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// A tree is refreshed at once after a quiet StatusRefresh; while its
// singletons keep changing, again once they pause for StatusSettle, and at
// least once per StatusRefresh; trees do not hold each other back.
func TestStatusRefreshDue(t *testing.T) {
	s := &statusRefresher{}
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	s.changed("a", t0)
	if d := s.due("a", t0); d != 0 {
		t.Fatalf("first change of a quiet tree waits %v, want 0", d)
	}
	if d := s.due("b", t0); d != 0 {
		t.Fatalf("another tree waits %v behind the first, want 0", d)
	}
	// A burst: a change every 10ms for 300ms.
	for ms := 10; ms <= 300; ms += 10 {
		s.changed("a", at(time.Duration(ms)*time.Millisecond))
		if d := s.due("a", at(time.Duration(ms)*time.Millisecond)); d != StatusSettle {
			t.Fatalf("a change %dms into a burst waits %v, want StatusSettle (%v)", ms, d, StatusSettle)
		}
	}
	// The burst's outcome shows StatusSettle after it, not StatusRefresh
	// after the last refresh: this was the refill's stale 80.
	if d := s.due("a", at(300*time.Millisecond+StatusSettle/2)); d != StatusSettle/2 {
		t.Fatalf("halfway through the pause after a burst the refresh waits %v, want %v", d, StatusSettle/2)
	}
	if d := s.due("a", at(300*time.Millisecond+StatusSettle)); d != 0 {
		t.Fatalf("the refresh after a burst paused for StatusSettle waits %v, want 0", d)
	}
	// A burst that never pauses is refreshed once per StatusRefresh.
	w := 300*time.Millisecond + StatusSettle
	for ms := time.Duration(0); ms < StatusRefresh; ms += 10 * time.Millisecond {
		s.changed("a", at(w+ms))
		d := s.due("a", at(w+ms))
		if want := min(StatusSettle, StatusRefresh-ms); d != want {
			t.Fatalf("a change %v into an unpaused burst waits %v, want %v", ms, d, want)
		}
	}
	s.changed("a", at(w+StatusRefresh))
	if d := s.due("a", at(w+StatusRefresh)); d != 0 {
		t.Fatalf("an unpaused burst StatusRefresh after the last refresh waits %v, want 0", d)
	}
}

// The reconciler skips updates of a quota's status alone (its own writes
// and quota-status's), and nothing else.
func TestQuotaStatusOnly(t *testing.T) {
	base := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "q", Labels: map[string]string{"x": "1"}},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3")}}}
	status := base.DeepCopy()
	status.Status.Used = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}
	status.ResourceVersion = "2"
	hard := base.DeepCopy()
	hard.Spec.Hard[corev1.ResourcePods] = resource.MustParse("2")
	label := base.DeepCopy()
	label.Labels = map[string]string{"x": "2"}
	gone := base.DeepCopy()
	gone.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	hq := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "q"}}
	hqStatus := hq.DeepCopy()
	hqStatus.Status.Used = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}
	hqSpec := hq.DeepCopy()
	hqSpec.Spec.Hard = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}
	for _, c := range []struct {
		name     string
		old, new client.Object
		want     bool
	}{
		{"HRQ status", base, status, true},
		{"HRQ hard", base, hard, false},
		{"HRQ label", base, label, false},
		{"HRQ deletion", base, gone, false},
		{"HierarchicalQuota status", hq, hqStatus, true},
		{"HierarchicalQuota hard", hq, hqSpec, false},
	} {
		if got := QuotaStatusOnly(c.old, c.new); got != c.want {
			t.Errorf("%s: QuotaStatusOnly = %v, want %v", c.name, got, c.want)
		}
	}
}

// quota-status leaves a tree holding a clamp to the reconciler, which
// lifts a clamp the new usage leaves refusing what fits before it writes
// the status; other trees get their status at once.
func TestStatusRefreshLeavesClampedTrees(t *testing.T) {
	ctx := context.Background()
	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}}
	used := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "hrq.hnc.x-k8s.io",
		Labels: map[string]string{LabelSingleton: "true"}, Annotations: map[string]string{AnnotationClampedAt: "t"}},
		Status: corev1.ResourceQuotaStatus{Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("4")}}}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(hrq, used).Build()
	r := &Reconciler{Client: c, Forest: testForest()}
	s := &statusRefresher{r: r}
	shown := func() string {
		got := &hncv1.HierarchicalResourceQuota{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(hrq), got); err != nil {
			t.Fatal(err)
		}
		q := got.Status.Used[corev1.ResourcePods]
		return q.String()
	}
	req := ctrl.Request{NamespacedName: client.ObjectKey{Name: "b"}}
	r.noteClamp(used, false)
	if _, err := s.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if got := shown(); got != "0" {
		t.Errorf("a clamped tree's HRQ shows %s pods used from quota-status, want it left to the reconciler", got)
	}
	lifted := used.DeepCopy()
	lifted.Annotations = nil
	r.noteClamp(lifted, false)
	if _, err := s.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if got := shown(); got != "4" {
		t.Errorf("the HRQ shows %s pods used, want 4 at once", got)
	}
}
