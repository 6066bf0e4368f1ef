package quota

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// freeWithin bounds how long a deletion may take to free its room while
// kube-controller-manager does not recount: far below its 15 s resync here
// (5 min by default), which is what freed it before.
const freeWithin = 5 * time.Second

// TestDeletionFreesUsageWhenTheControllerMissesIt freezes
// kube-controller-manager, so that no recount follows a deletion, as when
// its informer had not yet shown the creation just before it (the race
// tests' probes and the churn test met that on loaded machines): the room a
// deleted pod held must be admitted again all the same, exactly once, for a
// pod deleted at once and for one that was terminating first.
func TestDeletionFreesUsageWhenTheControllerMissesIt(t *testing.T) {
	c := admin(t)
	ctx := context.Background()
	tree(t, "repl-root", "repl-a=repl-root", "repl-b=repl-root")
	hrq(t, "repl-root", "repl", "pods=2", "repl-root", "repl-a", "repl-b")
	mustCreatePods(t, "repl-a", "a-1")
	mustCreatePods(t, "repl-b", "b-1")
	waitHRQUsed(t, "repl-root", "repl", corev1.ResourcePods, 2)
	mustDeny(t, "repl-a", "a-full", "exceeded quota")

	resume, err := env.CP.PauseControllerManager()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resume)

	// A pod deleted at once.
	if err := c.Delete(ctx, pod("repl-b", "b-1")); err != nil {
		t.Fatal(err)
	}
	admitAgain(t, "repl-a", "a-2")
	mustDeny(t, "repl-a", "a-3", "exceeded quota")

	// A pod held by a finalizer: terminating first, then gone.
	held := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "repl-a", Name: "a-1"}, held); err != nil {
		t.Fatal(err)
	}
	held.Finalizers = append(held.Finalizers, "canopy.dev/test-hold")
	if err := c.Update(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(held), held); err != nil || held.DeletionTimestamp == nil {
		t.Fatalf("pod a-1 should be terminating: %v", err)
	}
	held.Finalizers = nil
	if err := c.Update(ctx, held); err != nil {
		t.Fatal(err)
	}
	admitAgain(t, "repl-a", "a-4")
	mustDeny(t, "repl-a", "a-5", "exceeded quota")

	resume()
	if n := countPods(t, "repl-root", "repl-a", "repl-b"); n != 2 {
		t.Errorf("%d pods in the tree, want 2", n)
	}
	waitHRQUsed(t, "repl-root", "repl", corev1.ResourcePods, 2)
}

// admitAgain creates a pod, retrying quota refusals for freeWithin: the
// room a deleted pod held must come back that soon.
func admitAgain(t *testing.T, ns, name string) {
	t.Helper()
	framework.Eventually(t, freeWithin, func(context.Context) error {
		return createPod(ns, name)
	})
}

// TestDeletionFreesUsageWhenAnAdmissionFollowsIt freezes
// kube-controller-manager, deletes a pod and at once admits another in the
// same namespace: the singleton's latest version then comes after the
// deletion, written by the API server's quota admission, which only adds
// to the usage before it, so it still charges the deleted pod. The room
// the deleted pod held must be admitted again all the same, exactly once
// (the race tests' probes met this when the race's first admissions
// followed a probe's deletion before anything recounted).
func TestDeletionFreesUsageWhenAnAdmissionFollowsIt(t *testing.T) {
	c := admin(t)
	ctx := context.Background()
	tree(t, "replf-root", "replf-a=replf-root", "replf-b=replf-root")
	hrq(t, "replf-root", "replf", "pods=3", "replf-root", "replf-a", "replf-b")
	mustCreatePods(t, "replf-a", "a-1")
	mustCreatePods(t, "replf-b", "b-1")
	waitHRQUsed(t, "replf-root", "replf", corev1.ResourcePods, 2)

	resume, err := env.CP.PauseControllerManager()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resume)

	if err := c.Delete(ctx, pod("replf-b", "b-1")); err != nil {
		t.Fatal(err)
	}
	// Admitted at once, before the leader looks at the deletion.
	mustCreatePods(t, "replf-b", "b-2")
	admitAgain(t, "replf-a", "a-2")
	mustDeny(t, "replf-a", "a-3", "exceeded quota")

	resume()
	if n := countPods(t, "replf-root", "replf-a", "replf-b"); n != 3 {
		t.Errorf("%d pods in the tree, want 3", n)
	}
	waitHRQUsed(t, "replf-root", "replf", corev1.ResourcePods, 3)
}

// TestDenialReleasesADepartedPodAtOnce freezes kube-controller-manager,
// deletes a pod from a full tree and, 50 ms later (within the leader's
// DefaultReplenishDelay), creates one in another namespace of the tree,
// once. The tree is full only because the singleton still charges the pod
// that went, which the leader knows from its watch of pods: the denial must
// release that charge at once, so that the API server's next attempt of the
// same creation is admitted. Before, the creation was refused, and the room
// came back only after the delay (in the race tests, with a probe pod
// deleted right before a race that lasted under 300 ms, after the race:
// 99 of 100 admitted).
func TestDenialReleasesADepartedPodAtOnce(t *testing.T) {
	c := admin(t)
	ctx := context.Background()
	tree(t, "relnow-root", "relnow-a=relnow-root", "relnow-b=relnow-root")
	hrq(t, "relnow-root", "relnow", "pods=2", "relnow-root", "relnow-a", "relnow-b")
	mustCreatePods(t, "relnow-a", "a-1")
	mustCreatePods(t, "relnow-b", "b-1")
	waitHRQUsed(t, "relnow-root", "relnow", corev1.ResourcePods, 2)

	resume, err := env.CP.PauseControllerManager()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resume)

	if err := c.Delete(ctx, pod("relnow-b", "b-1")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := createPod("relnow-a", "a-2"); err != nil {
		t.Errorf("creating a pod in the room a deleted pod left: %v", err)
	}
	mustDeny(t, "relnow-a", "a-3", "exceeded quota")

	resume()
	if n := countPods(t, "relnow-root", "relnow-a", "relnow-b"); n != 2 {
		t.Errorf("%d pods in the tree, want 2", n)
	}
	waitHRQUsed(t, "relnow-root", "relnow", corev1.ResourcePods, 2)
}

// TestAdmissionReleasesADepartedPodFirst freezes kube-controller-manager
// and deletes a pod from a one-namespace tree, so that its singleton still
// charges it; within the leader's DefaultReplenishDelay, one creation fills
// the singleton and the next must still be admitted. When the singleton's
// own hard binds (a tree of one namespace), the API server refuses the
// namespace's creations itself, without asking the status webhook, so a
// release at a denial (above) comes too late: the next admission in the
// namespace must release first. Before, the second creation was refused
// (the race over a subtree of one namespace admitted 99 of 100 when its
// probe's release came after the race).
func TestAdmissionReleasesADepartedPodFirst(t *testing.T) {
	c := admin(t)
	ctx := context.Background()
	tree(t, "relfill-root", "relfill-idle=relfill-root")
	hrq(t, "relfill-root", "relfill", "pods=2", "relfill-root", "relfill-idle")
	mustCreatePods(t, "relfill-root", "p-1")
	waitHRQUsed(t, "relfill-root", "relfill", corev1.ResourcePods, 1)

	resume, err := env.CP.PauseControllerManager()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resume)

	if err := c.Delete(ctx, pod("relfill-root", "p-1")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	for _, name := range []string{"p-2", "p-3"} {
		if err := createPod("relfill-root", name); err != nil {
			t.Errorf("creating pod %s with one pod in a quota of two: %v", name, err)
		}
	}
	mustDeny(t, "relfill-root", "p-4", "exceeded quota")

	resume()
	if n := countPods(t, "relfill-root", "relfill-idle"); n != 2 {
		t.Errorf("%d pods in the tree, want 2", n)
	}
	waitHRQUsed(t, "relfill-root", "relfill", corev1.ResourcePods, 2)
}
