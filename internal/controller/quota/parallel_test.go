package quota

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// slowCreates is a client whose ResourceQuota creates each take delay and
// which records how many were in flight at most.
type slowCreates struct {
	client.Client
	delay          time.Duration
	inFlight, most atomic.Int32
}

func (c *slowCreates) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*corev1.ResourceQuota); ok {
		n := c.inFlight.Add(1)
		defer c.inFlight.Add(-1)
		for m := c.most.Load(); n > m && !c.most.CompareAndSwap(m, n); m = c.most.Load() {
		}
		time.Sleep(c.delay)
	}
	return c.Client.Create(ctx, obj, opts...)
}

// wideForest is a root with n children, and a second, small tree.
func wideForest(n int) *forest.Forest {
	f := forest.New()
	f.Lock()
	defer f.Unlock()
	f.Get("big").SetExists(true)
	for i := range n {
		c := f.Get("big-" + strconv.Itoa(i))
		c.SetExists(true)
		c.SetParent(f.Get("big"))
	}
	for _, n := range []string{"small", "small-a"} {
		f.Get(n).SetExists(true)
	}
	f.Get("small-a").SetParent(f.Get("small"))
	return f
}

// A quota set on the root of a large tree needs a singleton in every
// namespace: the reconcile writes them side by side, not one at a time
// (at 3,000 namespaces, one at a time held the quota worker for minutes).
func TestSingletonsWrittenInParallel(t *testing.T) {
	ctx := context.Background()
	const n = 200
	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "big", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=100")}}
	c := &slowCreates{Client: fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(hrq).Build(), delay: 20 * time.Millisecond}
	r := &Reconciler{Client: c, Forest: wideForest(n), Ledgers: LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	start := time.Now()
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: "big"}}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var rqs corev1.ResourceQuotaList
	if err := c.List(ctx, &rqs, client.MatchingLabels{LabelSingleton: "true"}); err != nil {
		t.Fatal(err)
	}
	if len(rqs.Items) != n+1 {
		t.Errorf("%d singletons, want %d", len(rqs.Items), n+1)
	}
	if m := c.most.Load(); m < 2 || m > singletonWrites {
		t.Errorf("at most %d singleton creates in flight, want 2 to %d", m, singletonWrites)
	}
	t.Logf("%d creates of 20 ms took %s, at most %d at once", n+1, took.Round(time.Millisecond), c.most.Load())
}

// Reconciles of different trees run at once (the controller's workers):
// they share the reconciler's state, which must hold under the race
// detector, and each tree ends as a reconcile of it alone leaves it.
func TestTreesReconciledConcurrently(t *testing.T) {
	ctx := context.Background()
	big := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "big", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=100")}}
	small := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "small", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=3")}}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(big, small).Build()
	r := &Reconciler{Client: c, Forest: wideForest(50), Ledgers: LedgerStore{Client: c, Reader: c, Namespace: "canopy-system", Decoded: &DecodeCache{}}}
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		root := "big"
		if i%2 == 1 {
			root = "small"
		}
		wg.Go(func() {
			if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: root}}); err != nil && !IsConflict(err) {
				errs <- fmt.Errorf("%s: %w", root, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Once more each, now alone: nothing left to do, and every singleton
	// holds its tree's hard.
	for _, root := range []string{"big", "small"} {
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: root}}); err != nil {
			t.Fatal(err)
		}
	}
	var rqs corev1.ResourceQuotaList
	if err := c.List(ctx, &rqs, client.MatchingLabels{LabelSingleton: "true"}); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, rq := range rqs.Items {
		want := "100"
		if rq.Namespace == "small" || rq.Namespace == "small-a" {
			want = "3"
		}
		if got := rq.Spec.Hard[corev1.ResourcePods]; got.String() != want {
			t.Errorf("singleton in %s: pods=%s, want %s", rq.Namespace, got.String(), want)
		}
		count[rq.Namespace]++
	}
	if len(count) != 53 {
		t.Errorf("singletons in %d namespaces, want 53", len(count))
	}
	for ns, k := range count {
		if k != 1 {
			t.Errorf("%d singletons in %s", k, ns)
		}
	}
}

// A request queued under a namespace that is no longer its tree's root
// (it was one when the event was mapped, before the forest linked it) is
// sent to the root instead of reconciling the whole tree under another
// name: thousands of such requests, left by building a large tree, each
// reconciled all of it again while every other tree waited.
func TestRequestForNonRootGoesToRoot(t *testing.T) {
	ctx := context.Background()
	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=4")}}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(hrq).Build()
	r := &Reconciler{Client: c, Forest: testForest(), Ledgers: LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	r.setQueue(q)
	for _, ns := range []string{"a1", "b", "a"} {
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	var rqs corev1.ResourceQuotaList
	if err := c.List(ctx, &rqs); err != nil {
		t.Fatal(err)
	}
	if len(rqs.Items) != 0 {
		t.Errorf("requests for a1, b and a wrote %d singletons, want none (their root's reconcile writes them)", len(rqs.Items))
	}
	if q.Len() != 1 {
		t.Fatalf("%d requests queued, want 1 (the root's, merged)", q.Len())
	}
	req, _ := q.Get()
	q.Done(req)
	if req.Name != "root" {
		t.Fatalf("queued %q, want root", req.Name)
	}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, &rqs); err != nil {
		t.Fatal(err)
	}
	if len(rqs.Items) != 4 {
		t.Errorf("the root's reconcile wrote %d singletons, want 4", len(rqs.Items))
	}
	// A lone namespace is its own root: reconciled at once.
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: "lone"}}); err != nil {
		t.Fatal(err)
	}
	if q.Len() != 0 {
		t.Errorf("a root's request was queued again")
	}
}
