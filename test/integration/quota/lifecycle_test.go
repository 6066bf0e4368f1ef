package quota

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// A namespace that moves takes its usage with it: the old tree's quota
// frees it, the new tree's counts it and stops admitting.
func TestMoveCarriesUsage(t *testing.T) {
	admin(t)
	tree(t, "move-a", "move-b", "move-x=move-a", "move-b1=move-b")
	hrq(t, "move-a", "qa", "pods=10", "move-a", "move-x")
	hrq(t, "move-b", "qb", "pods=3", "move-b", "move-b1")
	mustCreatePods(t, "move-x", "p1", "p2")
	mustCreatePods(t, "move-b1", "p1")
	waitHRQUsed(t, "move-a", "qa", corev1.ResourcePods, 2)

	if err := setParent(adminClient, "move-x", "move-b"); err != nil {
		t.Fatal(err)
	}
	waitHRQUsed(t, "move-a", "qa", corev1.ResourcePods, 0)
	waitHRQUsed(t, "move-b", "qb", corev1.ResourcePods, 3)
	// qb is full now, whichever namespace of its tree asks.
	framework.Eventually(t, wait, func(context.Context) error {
		err := createPod("move-b1", "full")
		if err == nil {
			return fmt.Errorf("pod admitted in a full tree")
		}
		if !strings.Contains(err.Error(), `HierarchicalResourceQuota "qb"`) {
			return fmt.Errorf("denial does not name qb yet: %w", err)
		}
		return nil
	})
	// And the old tree admits again.
	mustCreatePods(t, "move-a", "p1")
}

// Deleting a namespace frees its usage; deleting a quota removes the
// singletons it required.
func TestDeletionFreesUsage(t *testing.T) {
	ctx := context.Background()
	c := admin(t)
	tree(t, "del-p", "del-c=del-p")
	hrq(t, "del-p", "q", "pods=2", "del-p", "del-c")
	mustCreatePods(t, "del-c", "p1", "p2")
	mustDeny(t, "del-p", "p1", `HierarchicalResourceQuota "q" in namespace "del-p"`)

	// del-c is a full namespace, not a subnamespace: it may be deleted.
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "del-c"}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKey{Name: "del-c"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace del-c still there (%v)", err)
		}
		return nil
	})
	waitHRQUsed(t, "del-p", "q", corev1.ResourcePods, 0)
	framework.Eventually(t, wait, func(context.Context) error { return createPod("del-p", "p1") })

	if err := c.Delete(ctx, &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "del-p", Name: "q"}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := c.Get(ctx, client.ObjectKey{Namespace: "del-p", Name: quota.UnscopedSingletonName}, &corev1.ResourceQuota{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("singleton still present after its quota was deleted (%v)", err)
		}
		return nil
	})
}

// Users cannot change or delete a singleton.
func TestSingletonsAreProtected(t *testing.T) {
	ctx := context.Background()
	c := admin(t)
	tree(t, "prot-p", "prot-c=prot-p")
	hrq(t, "prot-p", "q", "pods=2", "prot-p", "prot-c")
	rq := &corev1.ResourceQuota{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "prot-c", Name: quota.UnscopedSingletonName}, rq); err != nil {
		t.Fatal(err)
	}
	rq.Spec.Hard = rl(t, "pods=1000")
	if err := c.Update(ctx, rq); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "maintained by Canopy") {
		t.Errorf("raising a singleton's hard: %v, want Forbidden", err)
	}
	if err := c.Delete(ctx, rq); !apierrors.IsForbidden(err) {
		t.Errorf("deleting a singleton: %v, want Forbidden", err)
	}
}

// A root with a quota that moves under another tree leaves no ledger
// behind: its tree's reservations now live in the new root's ledger.
func TestFormerRootLedgerIsCollected(t *testing.T) {
	admin(t)
	tree(t, "gc-old", "gc-new")
	hrq(t, "gc-old", "q", "pods=5", "gc-old")
	mustCreatePods(t, "gc-old", "p1")
	ledgerExists := func(root string) func(context.Context) error {
		return func(ctx context.Context) error {
			return env.Client.Get(ctx, client.ObjectKey{Namespace: env.Options.Forest.ManagerNamespace, Name: ctrlquota.LedgerName(root)}, &corev1.ConfigMap{})
		}
	}
	framework.Eventually(t, wait, ledgerExists("gc-old"))

	if err := setParent(adminClient, "gc-old", "gc-new"); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, ledgerExists("gc-new"))
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := ledgerExists("gc-old")(ctx)
		if err == nil {
			return fmt.Errorf("ledger of former root gc-old still exists")
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	})
	// The quota still holds in the new tree.
	mustCreatePods(t, "gc-old", "p2")
	waitHRQUsed(t, "gc-old", "q", corev1.ResourcePods, 2)
}

// With the manager down, pods in covered namespaces are refused (fail
// safe) while namespaces outside trees are unaffected; usage created
// before is still counted after the restart.
func TestRestart(t *testing.T) {
	admin(t)
	tree(t, "restart-p", "restart-c=restart-p", "restart-free")
	hrq(t, "restart-p", "q", "pods=3", "restart-p", "restart-c")
	mustCreatePods(t, "restart-c", "p1")

	env.StopManager()
	restarted := false
	defer func() {
		if !restarted {
			if err := env.StartManager(env.Options); err != nil {
				t.Errorf("restarting the manager: %v", err)
			}
		}
	}()
	err := createPod("restart-c", "down")
	if err == nil || !strings.Contains(err.Error(), "singleton-status.quota.canopy.dev") {
		t.Errorf("pod in a covered namespace with the manager down: %v, want the quota webhook to fail closed", err)
	}
	mustCreatePods(t, "restart-free", "p1")

	if err := env.StartManager(env.Options); err != nil {
		t.Fatal(err)
	}
	restarted = true
	framework.Eventually(t, wait, func(context.Context) error { return createPod("restart-p", "p1") })
	mustCreatePods(t, "restart-c", "p2")
	mustDeny(t, "restart-c", "p3", `HierarchicalResourceQuota "q" in namespace "restart-p"`, "used: pods=3")
	waitHRQUsed(t, "restart-p", "q", corev1.ResourcePods, 3)
}
