package quota

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// A move that would put a quota of the new ancestry over its hard is
// refused, and nothing changes: the namespace stays where it was, with its
// pods, and the quota it would have entered keeps its usage.
func TestMoveOverAQuotaIsRefused(t *testing.T) {
	c := admin(t)
	tree(t, "mover-a", "mover-b", "mover-x=mover-a", "mover-b1=mover-b")
	hrq(t, "mover-a", "qa", "pods=10", "mover-a", "mover-x")
	hrq(t, "mover-b", "qb", "pods=3", "mover-b", "mover-b1")
	mustCreatePods(t, "mover-x", "p1", "p2", "p3")
	mustCreatePods(t, "mover-b1", "p1")
	waitHRQUsed(t, "mover-a", "qa", corev1.ResourcePods, 3)
	waitHRQUsed(t, "mover-b", "qb", corev1.ResourcePods, 1)

	err := setParent(c, "mover-x", "mover-b")
	if err == nil || !strings.Contains(err.Error(), `HierarchicalResourceQuota "qb"`) {
		t.Fatalf("moving 3 pods under a quota with room for 2: %v, want a denial naming qb", err)
	}
	t.Logf("denied: %v", err)
	waitHRQUsed(t, "mover-b", "qb", corev1.ResourcePods, 1)
	waitHRQUsed(t, "mover-a", "qa", corev1.ResourcePods, 3)
	if n := countPods(t, "mover-x"); n != 3 {
		t.Fatalf("mover-x holds %d pods after the refused move, want 3", n)
	}
}

// A namespace that enters its first quota has no singleton yet: what its
// pods use is counted live, and a join that does not fit is refused.
func TestJoinOverAQuotaIsRefused(t *testing.T) {
	c := admin(t)
	tree(t, "joiner", "join-b", "join-b1=join-b")
	hrq(t, "join-b", "qb", "pods=3", "join-b", "join-b1")
	mustCreatePods(t, "joiner", "p1", "p2", "p3")
	mustCreatePods(t, "join-b1", "p1")
	waitHRQUsed(t, "join-b", "qb", corev1.ResourcePods, 1)

	err := setParent(c, "joiner", "join-b1")
	if err == nil || !strings.Contains(err.Error(), `HierarchicalResourceQuota "qb"`) || !strings.Contains(err.Error(), "used pods=4") {
		t.Fatalf("a namespace with 3 pods joining a quota with room for 2: %v, want a denial naming qb and 4 pods", err)
	}
	waitHRQUsed(t, "join-b", "qb", corev1.ResourcePods, 1)

	// With one pod gone it fits exactly, and the tree is full.
	if err := c.Delete(context.Background(), pod("joiner", "p3")); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, func(context.Context) error { return setParent(c, "joiner", "join-b1") })
	waitHRQUsed(t, "join-b", "qb", corev1.ResourcePods, 3)
	mustDeny(t, "join-b", "full", `HierarchicalResourceQuota "qb"`)
}

// A team lead, with the admin role over their tree (propagated from its
// root), moves namespaces within it: a move into a branch without room is
// refused with the quota's name, one that fits goes through.
func TestTeamLeadMoveIntoAFullBranch(t *testing.T) {
	admin(t)
	tree(t, "tl-root", "tl-a=tl-root", "tl-b=tl-root", "tl-c=tl-root")
	hrq(t, "tl-root", "all", "pods=10", "tl-root", "tl-a", "tl-b", "tl-c")
	hrq(t, "tl-b", "small", "pods=2", "tl-b")
	mustCreatePods(t, "tl-a", "p1", "p2")
	mustCreatePods(t, "tl-b", "p1")
	waitHRQUsed(t, "tl-root", "all", corev1.ResourcePods, 3)
	// The binding reaches every namespace of the tree by propagation.
	lena := teamLead(t, "tl-root", "lena", "move-leads", "tl-a", "tl-b", "tl-c")

	err := setParent(lena, "tl-a", "tl-b")
	if err == nil || !strings.Contains(err.Error(), `HierarchicalResourceQuota "small" in namespace "tl-b"`) {
		t.Fatalf("the lead's move of 2 pods into a branch with room for 1: %v, want a denial naming small", err)
	}
	waitHRQUsed(t, "tl-b", "small", corev1.ResourcePods, 1)
	if err := setParent(lena, "tl-c", "tl-b"); err != nil {
		t.Fatalf("the lead's move of an empty namespace into the branch: %v", err)
	}
	mustCreatePods(t, "tl-c", "p1")
	waitHRQUsed(t, "tl-b", "small", corev1.ResourcePods, 2)
	mustDeny(t, "tl-c", "p2", `HierarchicalResourceQuota "small"`)
}
