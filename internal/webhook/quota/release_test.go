package quota

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// onceReleaser releases something the first time it is asked, and
// nothing after. The fixture's singleton already holds what the release
// left, so releasing only marks it, as the leader's release does.
type onceReleaser struct {
	c    client.Client
	mu   sync.Mutex
	done bool
}

func (r *onceReleaser) ReleaseNow(ctx context.Context, _ func(string) bool, mark *ctrlquota.ReleaseMark, _ *corev1.ResourceQuota) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := !r.done
	r.done = true
	if first && mark != nil {
		rq := &corev1.ResourceQuota{}
		if err := r.c.Get(ctx, mark.Key, rq); err != nil {
			panic(err)
		}
		ctrlquota.MarkRelease(rq, rq.Status.Used, mark, time.Now())
		if err := r.c.Update(ctx, rq); err != nil {
			panic(err)
		}
	}
	return first
}

// releaseFixture is a tree of one namespace under `pods: 100`, its
// singleton at hard 100, and a handler whose first look releases a
// departed pod.
func releaseFixture(t *testing.T) (client.Client, *StatusHandler, func(rv uint64, prev, next int) admission.Request) {
	t.Helper()
	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=100")}}
	rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: quota.UnscopedSingletonName,
		Labels: map[string]string{ctrlquota.LabelSingleton: "true"}},
		Spec:   corev1.ResourceQuotaSpec{Hard: rl(t, "pods=100")},
		Status: corev1.ResourceQuotaStatus{Hard: rl(t, "pods=100"), Used: rl(t, "pods=87")}}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(hrq, rq).
		WithStatusSubresource(&corev1.ResourceQuota{}).Build()
	h := &StatusHandler{Forest: chain("root"), Cache: c, Decoder: admission.NewDecoder(testScheme()), Releases: &onceReleaser{c: c},
		Ledgers: ctrlquota.LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	attempt := func(rv uint64, prev, next int) admission.Request {
		req := statusRequestAt(t, "root", rv, prev, next)
		for _, raw := range []*[]byte{&req.Object.Raw, &req.OldObject.Raw} {
			obj := &corev1.ResourceQuota{}
			if err := json.Unmarshal(*raw, obj); err != nil {
				t.Fatal(err)
			}
			obj.Status.Hard = rl(t, "pods=100")
			stored := &corev1.ResourceQuota{}
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), stored); err != nil {
				t.Fatal(err)
			}
			obj.Annotations = stored.Annotations
			b, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			*raw = b
		}
		return req
	}
	return c, h, attempt
}

// A release between two attempts of a batch that the API server judged
// against the singleton's hard makes the retry charge the creations it
// refused, and keep them refused (kube-apiserver's checkQuotas): a race
// ended with 99 pods under a full `pods: 100`. The batch from 88 to 100
// is released and denied; its retry from 87 charges 13, one more than the
// first attempt: it is denied, and the singleton clamped to the room the
// first attempt had (87 + 12). On the earlier code that retry was allowed.
func TestRetryAfterAReleaseChargesNoRefusedCreation(t *testing.T) {
	ctx := context.Background()
	c, h, attempt := releaseFixture(t)
	if resp := h.Handle(ctx, attempt(7, 88, 100)); resp.Allowed || resp.Result.Message != msgReleased {
		t.Fatalf("attempt filling the singleton with a departed pod charged: %v, want denied with %q", resp.Result, msgReleased)
	}
	if resp := h.Handle(ctx, attempt(8, 87, 100)); resp.Allowed || resp.Result.Message != msgReleasedRetry {
		t.Fatalf("retry charging one more than the first attempt: %v, want denied with %q", resp.Result, msgReleasedRetry)
	}
	cur := &corev1.ResourceQuota{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "root", Name: quota.UnscopedSingletonName}, cur); err != nil {
		t.Fatal(err)
	}
	if got := quota.String(cur.Status.Hard); got != "pods=99" {
		t.Errorf("singleton's status.hard after the retry = %s, want the first attempt's room, pods=99", got)
	}
	if resp := h.Handle(ctx, attempt(10, 87, 99)); !resp.Allowed {
		t.Errorf("the retry charging what the first attempt did was denied: %v", resp.Result)
	}
}

// The release is the leader's, but the batch's retry may reach the other
// replica, which judged nothing of the first attempt: it too must deny the
// retry that charges the creation the API server refused, and clamp the
// singleton to the first attempt's room. On the earlier code the other
// replica allowed it.
func TestRetryAfterAReleaseOnTheOtherReplicaChargesNoRefusedCreation(t *testing.T) {
	ctx := context.Background()
	c, leader, attempt := releaseFixture(t)
	other := &StatusHandler{Forest: leader.Forest, Cache: c, Decoder: leader.Decoder, Ledgers: leader.Ledgers}
	if resp := leader.Handle(ctx, attempt(7, 88, 100)); resp.Allowed || resp.Result.Message != msgReleased {
		t.Fatalf("attempt filling the singleton with a departed pod charged: %v, want denied with %q", resp.Result, msgReleased)
	}
	if resp := other.Handle(ctx, attempt(8, 87, 100)); resp.Allowed || resp.Result.Message != msgReleasedRetry {
		t.Fatalf("retry on the other replica charging one more than the first attempt: %v, want denied with %q", resp.Result, msgReleasedRetry)
	}
	cur := &corev1.ResourceQuota{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "root", Name: quota.UnscopedSingletonName}, cur); err != nil {
		t.Fatal(err)
	}
	if got := quota.String(cur.Status.Hard); got != "pods=99" {
		t.Errorf("singleton's status.hard after the retry = %s, want the first attempt's room, pods=99", got)
	}
	if resp := other.Handle(ctx, attempt(10, 87, 99)); !resp.Allowed {
		t.Errorf("the retry charging what the first attempt did was denied: %v", resp.Result)
	}
}

// The leader's delayed look may release a second departed pod between
// the batch's attempts, without a mark of its own: the first release's
// mark stays, and the retry from the lower usage that charges two refused
// creations is still denied and clamped to the first attempt's room.
func TestRetryAfterTwoReleasesChargesNoRefusedCreation(t *testing.T) {
	ctx := context.Background()
	c, leader, attempt := releaseFixture(t)
	if resp := leader.Handle(ctx, attempt(7, 88, 100)); resp.Allowed || resp.Result.Message != msgReleased {
		t.Fatalf("attempt filling the singleton with a departed pod charged: %v, want denied with %q", resp.Result, msgReleased)
	}
	rq := &corev1.ResourceQuota{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "root", Name: quota.UnscopedSingletonName}, rq); err != nil {
		t.Fatal(err)
	}
	rq.Status.Used = rl(t, "pods=86")
	ctrlquota.MarkRelease(rq, rq.Status.Used, nil, time.Now())
	if err := c.Update(ctx, rq); err != nil {
		t.Fatal(err)
	}
	other := &StatusHandler{Forest: leader.Forest, Cache: c, Decoder: leader.Decoder, Ledgers: leader.Ledgers}
	if resp := other.Handle(ctx, attempt(9, 86, 100)); resp.Allowed || resp.Result.Message != msgReleasedRetry {
		t.Fatalf("retry from 86 charging two more than the first attempt: %v, want denied with %q", resp.Result, msgReleasedRetry)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "root", Name: quota.UnscopedSingletonName}, rq); err != nil {
		t.Fatal(err)
	}
	if got := quota.String(rq.Status.Hard); got != "pods=98" {
		t.Errorf("singleton's status.hard after the retry = %s, want the first attempt's room from 86, pods=98", got)
	}
}

// A batch that charges on its retry what it charged before the release
// (a single creation filling the singleton) is allowed: it refused nothing.
func TestRetryAfterAReleaseChargingTheSameIsAllowed(t *testing.T) {
	ctx := context.Background()
	_, h, attempt := releaseFixture(t)
	if resp := h.Handle(ctx, attempt(7, 99, 100)); resp.Allowed || resp.Result.Message != msgReleased {
		t.Fatalf("attempt filling the singleton with a departed pod charged: %v, want denied with %q", resp.Result, msgReleased)
	}
	if resp := h.Handle(ctx, attempt(8, 98, 99)); !resp.Allowed {
		t.Errorf("retry charging the same one creation: %v, want allowed", resp.Result)
	}
}

func TestMayHaveRefused(t *testing.T) {
	rq := func(used, hard string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Status: corev1.ResourceQuotaStatus{Used: rl(t, used), Hard: rl(t, hard)}}
	}
	for _, c := range []struct {
		prev, next, hard string
		want             bool
	}{
		{"pods=88", "pods=100", "pods=100", true},
		{"pods=85", "pods=95", "pods=100", true},
		{"pods=50", "pods=60", "pods=100", false},
		{"pods=100", "pods=100", "pods=100", true},
		{"pods=1,cpu=1", "pods=2,cpu=2", "pods=10,cpu=2", true},
		{"pods=1,cpu=1", "pods=2,cpu=1500m", "pods=10,cpu=4", false},
		{"pods=1", "pods=2", "cpu=4", false},
	} {
		got := mayHaveRefused(rq(c.prev, c.hard), rq(c.next, c.hard))
		if got != c.want {
			t.Errorf("%s to %s under %s: mayHaveRefused = %v, want %v", c.prev, c.next, c.hard, got, c.want)
		}
	}
}
