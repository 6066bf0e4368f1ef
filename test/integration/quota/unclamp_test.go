package quota

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// singleton reads ns's unscoped quota singleton live.
func singleton(t *testing.T, ns string) *corev1.ResourceQuota {
	t.Helper()
	rq := &corev1.ResourceQuota{}
	if err := adminClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: quota.UnscopedSingletonName}, rq); err != nil {
		t.Fatalf("reading the quota singleton of %q: %v", ns, err)
	}
	return rq
}

// clampByBatch fires creations in ns at once, from as many workers, until
// the API server has judged some of them as one batch and Canopy has
// clamped ns's singleton to the tree's room. It returns how many were
// admitted, which must be exactly room.
func clampByBatch(t *testing.T, ns string, room int) {
	t.Helper()
	for try := range 5 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		admitted := 0
		for i := range 4 * room {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := createPod(ns, fmt.Sprintf("batch-%d-%d", try, i))
				if err != nil && !apierrors.IsForbidden(err) {
					t.Errorf("creating a pod in %q: refused for a reason other than quota: %v", ns, err)
				}
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					admitted++
				}
			}()
		}
		wg.Wait()
		if admitted != room {
			t.Fatalf("a burst in %q admitted %d pods, want exactly the room, %d", ns, admitted, room)
		}
		rq := singleton(t, ns)
		used, hard := rq.Status.Used[corev1.ResourcePods], rq.Status.Hard[corev1.ResourcePods]
		if _, ok := rq.Annotations[ctrlquota.AnnotationClampedAt]; ok && used.Cmp(hard) == 0 {
			return
		}
		// No batch was clamped this time: free the room again and retry.
		var pods corev1.PodList
		if err := adminClient.List(context.Background(), &pods, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for i := range pods.Items {
			if err := adminClient.Delete(context.Background(), &pods.Items[i]); err != nil {
				t.Fatal(err)
			}
		}
		waitSingletonUsed(t, ns, 0)
	}
	t.Fatalf("no burst in %q was clamped in 5 tries", ns)
}

// waitSingletonUsed polls ns's singleton every few milliseconds until its
// status.used shows want pods, and returns at once: what a client that
// acts as soon as usage shows does.
func waitSingletonUsed(t *testing.T, ns string, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		used := singleton(t, ns).Status.Used[corev1.ResourcePods]
		if used.Value() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the quota singleton of %q shows %d pods used after 30 s, want %d", ns, used.Value(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestClampNeverRefusesRoomThatShows: a batch leaves its namespace's
// singleton clamped to the tree's room, and the tree full. Once a deletion
// in another namespace shows in that namespace's singleton, a creation in
// the clamped namespace fits and must be admitted at once: the API server
// judges it against the clamp before Canopy is asked, so the clamp must be
// gone by the time the freed room shows.
func TestClampNeverRefusesRoomThatShows(t *testing.T) {
	admin(t)
	for round := range 3 {
		root := fmt.Sprintf("unclamp%d-root", round)
		x, y := fmt.Sprintf("unclamp%d-x", round), fmt.Sprintf("unclamp%d-y", round)
		tree(t, root, x+"="+root, y+"="+root)
		hrq(t, root, "q", "pods=10", root, x, y)
		mustCreatePods(t, y, "y-0", "y-1", "y-2", "y-3")
		clampByBatch(t, x, 6)
		if err := adminClient.Delete(context.Background(), pod(y, "y-0")); err != nil {
			t.Fatal(err)
		}
		waitSingletonUsed(t, y, 3)
		if err := createPod(x, "after"); err != nil {
			rq := singleton(t, x)
			t.Fatalf("round %d: the deletion in %q shows in its singleton, yet a creation in %q was refused: %v (singleton of %q: hard %v, used %v, annotations %v)",
				round, y, x, err, x, rq.Status.Hard, rq.Status.Used, rq.Annotations)
		}
		if n := countPods(t, root, x, y); n != 10 {
			t.Errorf("round %d: %d pods in the tree, want 10", round, n)
		}
	}
}
