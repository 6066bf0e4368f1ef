package quota

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/canopyhq/canopy/internal/quota"
)

// staleList is a client whose singleton List answers with a copy taken
// earlier, as the manager's cache does while it is behind.
type staleList struct {
	client.Client
	stale corev1.ResourceQuotaList
}

func (c *staleList) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if l, ok := list.(*corev1.ResourceQuotaList); ok {
		c.stale.DeepCopyInto(l)
		return nil
	}
	return c.Client.List(ctx, list, opts...)
}

// TestReleaseNowWritesAtTheAdmittedVersion releases a departed pod at an
// admission while the replica's cached singleton is one admission behind
// the stored one, as the leader's was at every look in the stopped-replica
// race that admitted 99 of 100: the release must be written at the version
// the API server is admitting against, and land. From the cache it
// conflicted, every time.
func TestReleaseNowWritesAtTheAdmittedVersion(t *testing.T) {
	ctx := context.Background()
	rq := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "s", Labels: map[string]string{LabelSingleton: "true"}},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}},
	}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(rq).WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	setUsed := func(n int64) *corev1.ResourceQuota {
		t.Helper()
		got := &corev1.ResourceQuota{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(rq), got); err != nil {
			t.Fatal(err)
		}
		got.Status.Used = corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(n, resource.DecimalSI)}
		if err := c.Status().Update(ctx, got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	// A recount at 3 (the cache's copy, which may have left a pod out),
	// then an admission to 4 (the stored version, the next admission's
	// old object).
	cached := setUsed(3)
	admitted := setUsed(4)
	cachedRV := quota.ParseRV(cached.ResourceVersion)

	r := &Replenisher{Client: &staleList{Client: c, stale: corev1.ResourceQuotaList{Items: []corev1.ResourceQuota{*cached}}}}
	r.history.forget()
	r.history.observe(watch.Modified, withManager(cached, "kube-controller-manager"))
	r.history.observe(watch.Modified, withManager(admitted, quota.AdmissionManager))
	// The pod went after the recount: every version since charges it.
	gone := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "probe"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	r.pending = map[string][]quota.Departure{"team": {{Pod: gone, Deleted: cachedRV + 1, Stopped: cachedRV + 1}}}
	if !r.ReleaseNow(ctx, func(ns string) bool { return ns == "team" }, nil, admitted) {
		t.Fatal("ReleaseNow released nothing at the admitted version")
	}
	got := &corev1.ResourceQuota{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: "team", Name: "s"}, got); err != nil {
		t.Fatal(err)
	}
	if used := got.Status.Used[corev1.ResourcePods]; used.Value() != 3 {
		t.Errorf("stored singleton charges pods=%s, want 3 (4 less the departed pod)", used.String())
	}
	if len(r.pending["team"]) != 0 {
		t.Errorf("the departure is still pending after its release: %v", r.pending["team"])
	}
}

// withManager is rq with its status.used[pods] written by manager.
func withManager(rq *corev1.ResourceQuota, manager string) *corev1.ResourceQuota {
	n := rq.Status.Used[corev1.ResourcePods]
	out := singletonAt(quota.ParseRV(rq.ResourceVersion), n.Value(), manager)
	out.Namespace, out.Name = rq.Namespace, rq.Name
	return out
}

// TestFollowerLooksWithoutWriting is the delayed look on a replica that
// does not lead: it writes nothing while a singleton still charges a
// departed pod, and forgets the departure once the singleton's history
// shows a write that may have left it out (the leader's release).
func TestFollowerLooksWithoutWriting(t *testing.T) {
	ctx := context.Background()
	rq := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "s", Labels: map[string]string{LabelSingleton: "true"}},
		Status:     corev1.ResourceQuotaStatus{Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("4")}},
	}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(rq).WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	stored := &corev1.ResourceQuota{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(rq), stored); err != nil {
		t.Fatal(err)
	}
	rv := quota.ParseRV(stored.ResourceVersion)
	r := &Replenisher{Client: c, Elected: make(chan struct{})}
	r.history.forget()
	r.history.observe(watch.Modified, withManager(stored, quota.AdmissionManager))
	gone := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "probe"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	r.pending = map[string][]quota.Departure{"team": {{Pod: gone, Deleted: rv + 1, Stopped: rv + 1}}}
	// The history's first sight of the singleton is its lowering version,
	// so the departure after it is charged.
	if _, err := r.replenish(ctx, "team", look{write: r.leading()}); !errors.Is(err, errStillCharged) {
		t.Fatalf("a follower's look at a singleton that still charges a departed pod: %v, want errStillCharged", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(rq), stored); err != nil {
		t.Fatal(err)
	}
	if used := stored.Status.Used[corev1.ResourcePods]; used.Value() != 4 || quota.ParseRV(stored.ResourceVersion) != rv {
		t.Errorf("a follower's look wrote the singleton: pods=%s at %s", used.String(), stored.ResourceVersion)
	}
	// The leader's release lands; the follower's history shows it.
	stored.Status.Used[corev1.ResourcePods] = resource.MustParse("3")
	if err := c.Status().Update(ctx, stored); err != nil {
		t.Fatal(err)
	}
	r.history.observe(watch.Modified, withManager(stored, ReleaseManager))
	if _, err := r.replenish(ctx, "team", look{write: r.leading()}); err != nil {
		t.Fatalf("a follower's look after the release: %v", err)
	}
	if len(r.pending["team"]) != 0 {
		t.Errorf("the follower still holds the departure after the leader released it: %v", r.pending["team"])
	}
}
