package quota

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// A move Canopy allowed and another webhook refused was never stored, so
// its hold must not keep the room it would have taken: the destination
// admits what fits once the leader has fenced the move (quota.HoldFence
// after the judgement), not after a fixed half minute.
func TestMoveRefusedElsewhereFreesItsRoom(t *testing.T) {
	c := admin(t)
	tree(t, "fence-x", "fence-b", "fence-b1=fence-b")
	hrq(t, "fence-b", "qb", "pods=3", "fence-b", "fence-b1")
	mustCreatePods(t, "fence-x", "p1", "p2")
	mustCreatePods(t, "fence-b1", "p1")
	waitHRQUsed(t, "fence-b", "qb", corev1.ResourcePods, 1)

	hcWebhook(t, c, "fence-x", 0, "refused by the test's policy")
	err := setParent(c, "fence-x", "fence-b1")
	if err == nil || !strings.Contains(err.Error(), "refused by the test's policy") {
		t.Fatalf("the move: %v, want the test webhook's refusal", err)
	}
	refused := time.Now()
	// Both pods fit: the move never happened.
	admitted := 0
	var last error
	for admitted < 2 && time.Since(refused) < quota.HoldFence+10*time.Second {
		if last = createPod("fence-b1", "after-"+string(rune('a'+admitted))); last == nil {
			admitted++
			continue
		}
		time.Sleep(250 * time.Millisecond)
	}
	if admitted < 2 {
		t.Fatalf("%.0f s after a move that was never stored, %d of 2 pods that fit were admitted; last refusal: %v", time.Since(refused).Seconds(), admitted, last)
	}
	t.Logf("both pods admitted %.1f s after the refused move", time.Since(refused).Seconds())
	waitHRQUsed(t, "fence-b", "qb", corev1.ResourcePods, 3)
	hc := &api.HierarchyConfiguration{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "fence-x", Name: api.Singleton}, hc); err != nil {
		t.Fatal(err)
	}
	if hc.Spec.Parent != "" || hc.Annotations[ctrlquota.AnnotationMoveFence] == "" {
		t.Errorf("fence-x's HierarchyConfiguration: parent %q, annotations %v; want no parent and the fence", hc.Spec.Parent, hc.Annotations)
	}
}

// The fence is what lets the hold go: a move still in flight when the
// leader fences it can no longer be stored at the version Canopy judged.
// Here another webhook holds the move past the fence; a pod admitted in
// the destination after the fence takes the room, and the move fails
// rather than taking the quota over its limit.
func TestMoveInFlightPastTheFenceIsNotStored(t *testing.T) {
	c := admin(t)
	ctx := context.Background()
	tree(t, "late-x", "late-b", "late-b1=late-b")
	hrq(t, "late-b", "qb", "pods=3", "late-b", "late-b1")
	mustCreatePods(t, "late-x", "p1", "p2")
	mustCreatePods(t, "late-b1", "p1")
	waitHRQUsed(t, "late-b", "qb", corev1.ResourcePods, 1)

	// A root without children has no HierarchyConfiguration: give it one,
	// so that the move is an update at a known version.
	hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "late-x", Name: api.Singleton}}
	if err := c.Create(ctx, hc); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "late-x", Name: api.Singleton}, hc); err != nil {
		t.Fatal(err)
	}
	seen := hcWebhook(t, c, "late-x", quota.HoldFence+6*time.Second, "")
	moved := make(chan error, 1)
	go func() {
		// One update at the version read: no retry.
		hc.Spec.Parent = "late-b1"
		moved <- c.Update(ctx, hc)
	}()
	select {
	case <-seen:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow webhook never saw the move")
	}
	// Canopy's validator, called beside the slow one, judges the move.
	time.Sleep(time.Second)
	// Once the leader has fenced the move, what fits without it is admitted.
	deadline := time.Now().Add(quota.HoldFence + 5*time.Second)
	var err error
	for err = createPod("late-b1", "after-fence"); err != nil && time.Now().Before(deadline); err = createPod("late-b1", "after-fence") {
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("a pod that fits without the move in flight, after the fence: %v", err)
	}
	if err := <-moved; !apierrors.IsConflict(err) {
		t.Fatalf("the fenced move: %v, want a conflict", err)
	}
	waitHRQUsed(t, "late-b", "qb", corev1.ResourcePods, 2)
	if n := countPods(t, "late-x", "late-b1", "late-b"); n != 4 {
		t.Errorf("%d pods, want 4 (2 left in late-x, 2 under the quota of 3)", n)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "late-x", Name: api.Singleton}, hc); err != nil || hc.Spec.Parent != "" {
		t.Errorf("late-x's parent after the fenced move: %q (%v), want none", hc.Spec.Parent, err)
	}
}
