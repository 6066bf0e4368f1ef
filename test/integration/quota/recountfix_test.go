package quota

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/internal/setup"
)

// TestStaleRecountIsCorrectedInItsOwnWrite writes, as
// kube-controller-manager, a recount of a singleton that misses pods which
// exist (what the controller writes when its informer lags). Before, the
// status validator refused it and Canopy wrote the corrected usage in a
// second write, which could land while the API server's quota admission
// was retrying a batch in the namespace and make it refuse creations. Now
// the recount's own write is corrected: it succeeds, and what is stored
// counts every pod.
func TestStaleRecountIsCorrectedInItsOwnWrite(t *testing.T) {
	ctx := context.Background()
	tree(t, "fix-root", "fix-a=fix-root")
	hrq(t, "fix-root", "fix", "pods=10", "fix-root", "fix-a")
	mustCreatePods(t, "fix-a", "p-1", "p-2")
	waitHRQUsed(t, "fix-root", "fix", corev1.ResourcePods, 2)

	// kube-controller-manager, frozen, writes nothing of its own meanwhile.
	resume, err := env.CP.PauseControllerManager()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resume)

	cfg := rest.CopyConfig(env.CP.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:kube-system:resourcequota-controller",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"}}
	kcm, err := client.New(cfg, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	rq := &corev1.ResourceQuota{}
	if err := admin(t).Get(ctx, client.ObjectKey{Namespace: "fix-a", Name: quota.UnscopedSingletonName}, rq); err != nil {
		t.Fatal(err)
	}
	if got := rq.Status.Used[corev1.ResourcePods]; got.Value() != 2 {
		t.Fatalf("singleton charges pods=%s before the recount, want 2", got.String())
	}
	rq.Status.Used[corev1.ResourcePods] = resource.MustParse("0")
	if err := kcm.Status().Update(ctx, rq); err != nil {
		t.Fatalf("stale recount pods=0 (2 pods exist) refused, want it corrected in its own write: %v", err)
	}
	if got := rq.Status.Used[corev1.ResourcePods]; got.Value() != 2 {
		t.Errorf("recount stored pods=%s, want the 2 pods that exist", got.String())
	}

	// A recount that is right is stored as written.
	if err := admin(t).Delete(ctx, pod("fix-a", "p-2")); err != nil {
		t.Fatal(err)
	}
	// The leader may lower the singleton first (it watches pods go):
	// recount from what is stored then.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := admin(t).Get(ctx, client.ObjectKeyFromObject(rq), rq); err != nil {
			return err
		}
		rq.Status.Used[corev1.ResourcePods] = resource.MustParse("1")
		return kcm.Status().Update(ctx, rq)
	})
	if err != nil {
		t.Fatalf("right recount pods=1 refused: %v", err)
	}
	if got := rq.Status.Used[corev1.ResourcePods]; got.Value() != 1 {
		t.Errorf("right recount stored pods=%s, want 1", got.String())
	}
	resume()
	waitHRQUsed(t, "fix-root", "fix", corev1.ResourcePods, 1)
}
