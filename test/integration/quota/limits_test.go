package quota

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// Quotas at two depths: the nearest one that is full denies, naming itself,
// and the root's applies to the whole tree.
func TestLimitsAtSeveralDepthsStrictestWins(t *testing.T) {
	admin(t)
	tree(t, "depth-root", "depth-mid=depth-root", "depth-leaf=depth-mid", "depth-side=depth-root")
	hrq(t, "depth-root", "total", "pods=4", "depth-root", "depth-mid", "depth-leaf", "depth-side")
	hrq(t, "depth-mid", "mid", "pods=2", "depth-mid", "depth-leaf")

	mustCreatePods(t, "depth-leaf", "p1", "p2")
	// The leaf's singleton carries the strictest hard of its ancestors, so
	// the API server refuses this one itself, naming the singleton.
	mustDeny(t, "depth-leaf", "p3", "exceeded quota: "+quota.UnscopedSingletonName, "requested: pods=1", "used: pods=2", "limited: pods=2")
	// In depth-mid only the subtree sum is over: Canopy's webhook refuses,
	// naming the quota.
	mustDeny(t, "depth-mid", "p1", `exceeded quota: HierarchicalResourceQuota "mid" in namespace "depth-mid"`, "requested: pods=1", "used: pods=2", "limited: pods=2")
	mustCreatePods(t, "depth-side", "p1", "p2")
	mustDeny(t, "depth-root", "p1", `HierarchicalResourceQuota "total" in namespace "depth-root"`, "used: pods=4", "limited: pods=4")

	waitHRQUsed(t, "depth-root", "total", corev1.ResourcePods, 4)
	waitHRQUsed(t, "depth-mid", "mid", corev1.ResourcePods, 2)
}

// Delegated budgets: allocations must fit hard, a child quota must fit its
// allocation, and an allocated subtree is capped by its allocation.
func TestDelegatedBudgets(t *testing.T) {
	ctx := context.Background()
	c := admin(t)
	tree(t, "deleg-p", "deleg-api=deleg-p", "deleg-batch=deleg-p")
	hq := func(ns, name, hard string, alloc map[string]string) *tenancyv1.HierarchicalQuota {
		q := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: tenancyv1.HierarchicalQuotaSpec{Hard: rl(t, hard)}}
		for k, v := range alloc {
			if q.Spec.Allocations == nil {
				q.Spec.Allocations = map[string]corev1.ResourceList{}
			}
			q.Spec.Allocations[k] = rl(t, v)
		}
		return q
	}
	err := c.Create(ctx, hq("deleg-p", "too-much", "pods=4", map[string]string{"deleg-api": "pods=3", "deleg-batch": "pods=2"}))
	if !apierrors.IsInvalid(err) || !contains(err, "allocations sum to more than spec.hard.pods=4") {
		t.Fatalf("allocations above hard: %v, want Invalid naming the sum", err)
	}
	if err := c.Create(ctx, hq("deleg-p", "budget", "pods=4", map[string]string{"deleg-api": "pods=1", "deleg-batch": "pods=2"})); err != nil {
		t.Fatal(err)
	}
	waitSingletons(t, quota.UnscopedSingletonName, rl(t, "pods=4"), "deleg-p", "deleg-api", "deleg-batch")
	err = c.Create(ctx, hq("deleg-api", "child", "pods=2", nil))
	if !apierrors.IsInvalid(err) || !contains(err, "exceeds its allocation spec.allocations[deleg-api].pods=1") {
		t.Fatalf("child above its allocation: %v, want Invalid naming the allocation", err)
	}

	mustCreatePods(t, "deleg-api", "p1")
	mustDeny(t, "deleg-api", "p2", `HierarchicalQuota "budget" in namespace "deleg-p"`, `allocation for subtree "deleg-api"`)
	// The parent and unallocated children share 4-1-2 = 1.
	mustCreatePods(t, "deleg-p", "p1")
	mustDeny(t, "deleg-p", "p2", "share outside allocations")
	mustCreatePods(t, "deleg-batch", "p1", "p2")

	framework.Eventually(t, wait, func(ctx context.Context) error {
		q := &tenancyv1.HierarchicalQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "deleg-p", Name: "budget"}, q); err != nil {
			return err
		}
		if q.Status.RequestsSummary != "pods: 4/4" {
			return fmt.Errorf("requestsSummary = %q, want %q", q.Status.RequestsSummary, "pods: 4/4")
		}
		return nil
	})

	// Lowering the parent below its usage is allowed, sets OverLimit and
	// admits nothing more.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		q := &tenancyv1.HierarchicalQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "deleg-p", Name: "budget"}, q); err != nil {
			return err
		}
		q.Spec.Hard = rl(t, "pods=3")
		q.Spec.Allocations = nil
		return c.Update(ctx, q)
	})
	framework.Eventually(t, wait, func(ctx context.Context) error {
		q := &tenancyv1.HierarchicalQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "deleg-p", Name: "budget"}, q); err != nil {
			return err
		}
		for _, cond := range q.Status.Conditions {
			if cond.Type == tenancyv1.ConditionOverLimit && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == q.Generation {
				return nil
			}
		}
		return fmt.Errorf("no OverLimit=True for generation %d: %+v", q.Generation, q.Status.Conditions)
	})
	mustDeny(t, "deleg-batch", "p3", `HierarchicalQuota "budget"`)
}

// A scoped HierarchicalQuota counts only pods of its priority class.
func TestScopedQuota(t *testing.T) {
	ctx := context.Background()
	c := admin(t)
	tree(t, "scope-p", "scope-c=scope-p")
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "scope-high"}, Value: 1000}
	if err := c.Create(ctx, pc); err != nil {
		t.Fatal(err)
	}
	sel := &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
		ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"scope-high"},
	}}}
	q := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "scope-p", Name: "high"},
		Spec: tenancyv1.HierarchicalQuotaSpec{Hard: rl(t, "pods=1"), ScopeSelector: sel}}
	if err := c.Create(ctx, q); err != nil {
		t.Fatal(err)
	}
	waitSingletons(t, quota.SingletonName(quota.ScopeKey(sel)), rl(t, "pods=1"), "scope-p", "scope-c")
	high := func(ns, name string) error {
		p := pod(ns, name)
		p.Spec.PriorityClassName = "scope-high"
		return c.Create(ctx, p)
	}
	if err := high("scope-c", "h1"); err != nil {
		t.Fatal(err)
	}
	err := high("scope-p", "h2")
	if !apierrors.IsForbidden(err) || !contains(err, `HierarchicalQuota "high" in namespace "scope-p" (scope PriorityClass In (scope-high))`) {
		t.Fatalf("second high-priority pod: %v, want a scoped quota denial", err)
	}
	// Pods of other priorities are not counted.
	mustCreatePods(t, "scope-p", "n1", "n2")
}

func contains(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}
