package quota

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/internal/setup"
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

	resume := freezeControllerManager(t)

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

// freezeControllerManager pauses kube-controller-manager until the test
// ends or the returned func is called, whichever comes first: no recount
// follows a deletion meanwhile.
func freezeControllerManager(t *testing.T) (resume func()) {
	t.Helper()
	resume, err := env.CP.PauseControllerManager()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resume)
	return resume
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

	resume := freezeControllerManager(t)

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

	resume := freezeControllerManager(t)

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

	resume := freezeControllerManager(t)

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

// TestDelayedReleaseWaitsForAdmissionsToPause freezes
// kube-controller-manager, deletes a pod, and at once keeps creating pods
// in the same namespace, four at a time, for a few hundred milliseconds,
// all within the namespace's grant. The leader's look 100 ms after the
// deletion used to write the singleton then, from its cache, in the middle
// of the admissions: its write conflicted, or made the admission in flight
// conflict (in the race tests' audit logs, about ten admissions a run; the
// API server retries a conflict only three times). It must wait for the
// admissions to pause, and then release the departed pod: in the
// singleton's versions, no admission follows the release.
func TestDelayedReleaseWaitsForAdmissionsToPause(t *testing.T) {
	admin(t)
	ctx := context.Background()
	tree(t, "relwait-root", "relwait-idle=relwait-root")
	hrq(t, "relwait-root", "relwait", "pods=1000", "relwait-root", "relwait-idle")
	mustCreatePods(t, "relwait-root", "probe")
	waitHRQUsed(t, "relwait-root", "relwait", corev1.ResourcePods, 1)

	freezeControllerManager(t)
	versions := singletonVersions(t, "relwait-root")
	if err := adminClient.Delete(ctx, pod("relwait-root", "probe")); err != nil {
		t.Fatal(err)
	}
	// Four creators, each pausing 25 ms between creations, for up to
	// burstFor and at most burstPods pods: the singleton is written every
	// few milliseconds past the look's 100 ms, and every creation stays
	// within the grant the probe's admission earned (64 pods), so that no
	// admission releases the probe itself.
	const burstFor, burstPods, creators = 500 * time.Millisecond, 45, 4
	var created, next atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(burstFor)
	for range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				i := next.Add(1)
				if i > burstPods {
					return
				}
				if err := createPod("relwait-root", fmt.Sprintf("p-%d", i)); err != nil {
					t.Errorf("creating a pod with room for hundreds: %v", err)
					return
				}
				created.Add(1)
				time.Sleep(25 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	// Then the departed pod is released, with kube-controller-manager
	// still frozen.
	waitHRQUsed(t, "relwait-root", "relwait", corev1.ResourcePods, created.Load())
	used := versions()
	released := -1
	for i := 1; i < len(used); i++ {
		switch {
		case used[i] < used[i-1] && released < 0:
			released = i
		case used[i] > used[i-1] && released >= 0:
			t.Fatalf("an admission (pods %d to %d) followed the release (%d to %d) in the singleton's versions %v: the release was written while admissions went on",
				used[i-1], used[i], used[released-1], used[released], used)
		}
	}
	if released < 0 {
		t.Fatalf("no version of the singleton lowered its usage: %v", used)
	}
}

// singletonVersions records the pods status.used of every version of ns's
// unscoped singleton written until the returned func is called, which
// returns them in order.
func singletonVersions(t *testing.T, ns string) func() []int64 {
	t.Helper()
	wc, err := client.NewWithWatch(env.CP.Config, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &corev1.ResourceQuotaList{}, client.InNamespace(ns),
		&client.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", quota.UnscopedSingletonName)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan []int64)
	go func() {
		var used []int64
		for ev := range w.ResultChan() {
			if rq, ok := ev.Object.(*corev1.ResourceQuota); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				u := rq.Status.Used[corev1.ResourcePods]
				used = append(used, u.Value())
			}
		}
		done <- used
	}()
	return func() []int64 {
		w.Stop()
		cancel()
		return <-done
	}
}
