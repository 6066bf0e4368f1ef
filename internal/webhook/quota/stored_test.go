package quota

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

// chargedNotStored is staleRecountFixture's singleton, charging pods=4 at
// its resourceVersion, as the manager's feed saw it grow from 3 just now:
// the fourth pod is charged and not yet stored.
func chargedNotStored(t *testing.T, settle time.Duration) (*StatusHandler, *corev1.ResourceQuota, func() error) {
	t.Helper()
	c, rq, h := staleRecountFixture(t)
	h.Feed = &ctrlquota.SingletonFeed{}
	h.StoreSettle = settle
	was := rq.DeepCopy()
	was.ResourceVersion = strconv.FormatUint(quota.ParseRV(rq.ResourceVersion)-1, 10)
	was.Status.Used = rl(t, "pods=3")
	h.Feed.Handler().OnAdd(was, true)
	h.Feed.Handler().OnUpdate(was, rq)
	store := func() error {
		return c.Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "d"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}})
	}
	return h, rq, store
}

// A recount that lowers usage to what a list shows must not erase the
// charge of a creation the API server has committed and not yet stored:
// a recount from kube-controller-manager's informer, arriving the moment
// after the charge, lowers pods=4 to the 3 pods stored, and the fourth is
// stored 100 ms later. On the earlier code the recount was allowed at
// once, its live list showing 3, and the fourth pod was counted by nobody.
func TestRecountWaitsForChargedCreationsToBeStored(t *testing.T) {
	ctx := context.Background()
	settle := 400 * time.Millisecond
	h, rq, store := chargedNotStored(t, settle)
	stored := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // the creation's time between charge and storage
		stored <- store()
	}()
	req := statusRequestAt(t, "root", quota.ParseRV(rq.ResourceVersion), 4, 3)
	req.UserInfo.Username = "system:kube-controller-manager"
	start := time.Now()
	resp := h.Handle(ctx, req)
	if err := <-stored; err != nil {
		t.Fatal(err)
	}
	if resp.Allowed {
		t.Fatal("a recount erasing the charge of a creation not yet stored was allowed")
	}
	if !strings.Contains(resp.Result.Message, "below the 4 that exist") {
		t.Errorf("refusal = %q, want it to name the 4 pods that exist", resp.Result.Message)
	}
	if took := time.Since(start); took < settle-50*time.Millisecond {
		t.Errorf("the recount was judged after %v, before the charge was %v old", took, settle)
	}
}

// The leader's release subtracts departed pods from the usage it read, so
// it keeps every charge and is judged at once; so is a recount once the
// last charge is StoreSettle old.
func TestRecountJudgedAtOnceWhenNothingIsInFlight(t *testing.T) {
	ctx := context.Background()
	settle := 2 * time.Second
	h, rq, _ := chargedNotStored(t, settle)
	release := statusRequestAt(t, "root", quota.ParseRV(rq.ResourceVersion), 4, 3)
	release.UserInfo.Username = "system:serviceaccount:canopy-system:canopy-manager"
	release.Options = runtime.RawExtension{Raw: []byte(`{"fieldManager":"` + ctrlquota.ReleaseManager + `"}`)}
	start := time.Now()
	if resp := h.Handle(ctx, release); !resp.Allowed {
		t.Fatalf("release to the 3 pods that exist denied: %v", resp.Result)
	}
	if took := time.Since(start); took >= settle/2 {
		t.Errorf("the release was judged after %v, want at once", took)
	}

	h, rq, _ = chargedNotStored(t, 50*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // the last charge is older than StoreSettle
	recount := statusRequestAt(t, "root", quota.ParseRV(rq.ResourceVersion), 4, 3)
	recount.UserInfo.Username = "system:kube-controller-manager"
	start = time.Now()
	if resp := h.Handle(ctx, recount); !resp.Allowed {
		t.Fatalf("recount to the 3 pods that exist denied: %v", resp.Result)
	}
	if took := time.Since(start); took >= 40*time.Millisecond {
		t.Errorf("the recount was judged after %v, want at once", took)
	}
}

// A recount of a singleton version the manager's informer has not
// delivered waits for it, and is refused when it does not come.
func TestRecountOfAnUnseenVersionIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	h, rq, _ := chargedNotStored(t, time.Millisecond)
	req := statusRequestAt(t, "root", quota.ParseRV(rq.ResourceVersion)+5, 4, 3)
	req.UserInfo.Username = "system:kube-controller-manager"
	if resp := h.Handle(ctx, req); resp.Allowed {
		t.Fatal("a recount of a version the feed never showed was allowed")
	}
}

// A recount of a version the feed has already seen replaced is not waited
// on: written at that version, it could only conflict.
func TestRecountOfAReplacedVersionIsRefusedAtOnce(t *testing.T) {
	h, rq, _ := chargedNotStored(t, 2*time.Second)
	req := statusRequestAt(t, "root", quota.ParseRV(rq.ResourceVersion)-1, 4, 3)
	req.UserInfo.Username = "system:kube-controller-manager"
	start := time.Now()
	if resp := h.Handle(context.Background(), req); resp.Allowed || !strings.Contains(resp.Result.Message, "changed while its recount was judged") {
		t.Fatalf("recount of a replaced version: %v, want refused as changed", resp.Result)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the recount of a replaced version was judged after %v, want at once", took)
	}
}
