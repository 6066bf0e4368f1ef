package quota

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// A batch that does not fit the tree is clamped on its first denial only.
// The API server sends the same update again after a denial; a clamp made
// then would make that attempt fail with a conflict, and if it is the
// batch's last attempt, every creation of the batch would be refused with
// "the object has been modified". That happened when room appeared in the
// tree between two attempts of a batch first denied with no room to clamp
// to.
func TestClampOnlyOnABatchsFirstDenial(t *testing.T) {
	ctx := context.Background()
	c, h, get := clampTree(t, "pods=3", map[string]string{"root": "pods=2", "c0": "pods=1"})
	clamped := func() (string, bool) {
		t.Helper()
		got := get("c0")
		_, ok := got.Annotations[ctrlquota.AnnotationClampedAt]
		return quota.String(got.Spec.Hard), ok
	}
	// Two creations at once in c0: 1 -> 3 pods, where the tree is full
	// (root 2 + c0 1 of 3): denied, with no room to clamp to.
	batch := statusRequestAt(t, "c0", quota.ParseRV(get("c0").ResourceVersion), 1, 3)
	resp := h.Handle(ctx, batch)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "exceeded quota") {
		t.Fatalf("first attempt: %+v, want a quota denial", resp.Result)
	}
	if hard, ok := clamped(); ok {
		t.Fatalf("first denial with no room: singleton clamped to %s", hard)
	}

	// A pod of root goes, and the API server sends the same update again
	// (its retry of the same batch at the same resourceVersion): there is
	// room for one now, but the retry is denied without a clamp.
	root := get("root")
	root.Status.Used = rl(t, "pods=1")
	if err := c.Status().Update(ctx, root); err != nil {
		t.Fatal(err)
	}
	written := get("c0").ResourceVersion
	resp = h.Handle(ctx, batch)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "exceeded quota") {
		t.Fatalf("retry: %+v, want a quota denial", resp.Result)
	}
	if cur := get("c0"); cur.ResourceVersion != written {
		hard, _ := clamped()
		t.Errorf("the retry of a denied batch wrote the singleton (hard %s): the attempt would fail with a conflict", hard)
	}

	// A new batch (a later resourceVersion) is a first attempt again.
	cur := get("c0")
	cur.Labels["touched"] = "true"
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	next := statusRequestAt(t, "c0", quota.ParseRV(cur.ResourceVersion), 1, 3)
	if resp := h.Handle(ctx, next); resp.Allowed {
		t.Fatal("a batch that does not fit was allowed")
	}
	if hard, ok := clamped(); !ok || hard != "pods=2" {
		t.Errorf("a new batch's first denial: singleton hard %s (clamped %v), want clamped to pods=2", hard, ok)
	}
}

// A clamp holds the room it leaves for the batch's retry: another
// namespace's admission cannot take it in between (the retry would be
// denied and clamped again, and each clamp costs the batch one of its four
// attempts), and the retry, against the clamped singleton, is allowed.
func TestClampHoldsTheRoomForTheRetry(t *testing.T) {
	ctx := context.Background()
	_, h, get := clampTree(t, "pods=4", map[string]string{"root": "pods=1", "c0": "pods=1", "c1": "pods=0"})
	rv := func(ns string) uint64 { return quota.ParseRV(get(ns).ResourceVersion) }
	// Three creations at once in c0 (1 -> 4 pods) where the tree has room
	// for two: denied, and c0 clamped to 3.
	if resp := h.Handle(ctx, statusRequestAt(t, "c0", rv("c0"), 1, 4)); resp.Allowed {
		t.Fatal("a batch that does not fit was allowed")
	}
	clamped := rv("c0")
	// One creation in c1 would fit the tree's committed usage (1+1+0 of
	// 4) but not with the room held for c0's retry.
	resp := h.Handle(ctx, statusRequestAt(t, "c1", rv("c1"), 0, 1))
	if resp.Allowed || !strings.Contains(resp.Result.Message, "exceeded quota") {
		t.Fatalf("c1's creation between the clamp and the retry: %+v, want a quota denial (the room is held for c0)", resp.Result)
	}
	// The retry, against the clamped singleton, admits the two that fit.
	if resp := h.Handle(ctx, statusRequestAt(t, "c0", clamped, 1, 3)); !resp.Allowed {
		t.Fatalf("the batch's retry against the clamp: %+v, want allowed", resp.Result)
	}
}

// clampTree is a tree of root and its children (every namespace of used
// but root), an HRQ of hard on root, and a singleton of that hard in each
// namespace with its used; it returns the client, a handler judging on it,
// and a reader of a namespace's singleton.
func clampTree(t *testing.T, hard string, used map[string]string) (client.Client, *StatusHandler, func(ns string) *corev1.ResourceQuota) {
	t.Helper()
	names := []string{"root"}
	objs := []client.Object{&hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, hard)}}}
	for ns, u := range used {
		if ns != "root" {
			names = append(names, ns)
		}
		objs = append(objs, &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: quota.UnscopedSingletonName,
				Labels: map[string]string{ctrlquota.LabelSingleton: "true"}},
			Spec:   corev1.ResourceQuotaSpec{Hard: rl(t, hard)},
			Status: corev1.ResourceQuotaStatus{Hard: rl(t, hard), Used: rl(t, u)},
		})
	}
	f := chain(names...)
	f.Lock()
	for _, ns := range names[1:] {
		f.Get(ns).SetParent(f.Get("root"))
	}
	f.Unlock()
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(objs...).
		WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	h := &StatusHandler{Forest: f, Cache: c, Live: c, Decoder: admission.NewDecoder(testScheme()),
		Ledgers: ctrlquota.LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	get := func(ns string) *corev1.ResourceQuota {
		t.Helper()
		cur := &corev1.ResourceQuota{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: quota.UnscopedSingletonName}, cur); err != nil {
			t.Fatal(err)
		}
		return cur
	}
	return c, h, get
}

// The API server's attempts of one batch may reach different replicas. A
// replica that sees a batch for the first time after another replica
// denied it is judging a retry, and must not clamp: seen in the
// two-replica race, where the fourth and last attempt of a batch denied
// three times with no room reached the replica that had not seen it, room
// had appeared, and its clamp turned the attempt into a conflict.
func TestClampOnlyOnABatchsFirstDenialAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	c, a, get := clampTree(t, "pods=3", map[string]string{"root": "pods=2", "c0": "pods=1"})
	b := &StatusHandler{Forest: a.Forest, Cache: c, Live: c, Decoder: a.Decoder, Ledgers: a.Ledgers}
	for _, h := range []*StatusHandler{a, b} {
		h.Denials = &ctrlquota.DenialStore{Client: c, Reader: c, Namespace: "canopy-system"}
		if err := h.Denials.EnsureShards(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Replica a denies the batch (1 -> 3 pods in a full tree): no room.
	batch := statusRequestAt(t, "c0", quota.ParseRV(get("c0").ResourceVersion), 1, 3)
	if resp := a.Handle(ctx, batch); resp.Allowed {
		t.Fatal("a batch that does not fit was allowed")
	}
	// Room for one appears; the retry reaches replica b.
	root := get("root")
	root.Status.Used = rl(t, "pods=1")
	if err := c.Status().Update(ctx, root); err != nil {
		t.Fatal(err)
	}
	written := get("c0").ResourceVersion
	resp := b.Handle(ctx, batch)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "exceeded quota") {
		t.Fatalf("retry on the other replica: %+v, want a quota denial", resp.Result)
	}
	if cur := get("c0"); cur.ResourceVersion != written {
		t.Errorf("the other replica clamped a batch replica a had denied (hard %s): the attempt would fail with a conflict", quota.String(cur.Spec.Hard))
	}
	// A new batch's first denial still clamps, on either replica.
	cur := get("c0")
	cur.Labels["touched"] = "true"
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if resp := b.Handle(ctx, statusRequestAt(t, "c0", quota.ParseRV(cur.ResourceVersion), 1, 3)); resp.Allowed {
		t.Fatal("a batch that does not fit was allowed")
	}
	if _, ok := get("c0").Annotations[ctrlquota.AnnotationClampedAt]; !ok {
		t.Error("a new batch's first denial was not clamped")
	}
}
