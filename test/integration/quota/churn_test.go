package quota

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/integration/framework"
)

const (
	churnFor    = time.Minute
	churnEvery  = 200 * time.Millisecond
	churnRoom   = 3
	churnHeld   = 7
	churnTarget = churnRoom + churnHeld
)

// churnResult is what one churn loop saw.
type churnResult struct {
	created, refused int
	// refusedWithRoom are refusals made while the namespace's quota
	// status.used, read just before the creation, showed room.
	refusedWithRoom []string
	// maxUsed is the largest status.used seen.
	maxUsed int64
	others  []error
}

// churn creates a pod in ns every churnEvery for churnFor, and once
// churnRoom pods are alive deletes the oldest, as CI jobs would. Before each
// creation it reads status.used of the ResourceQuota rqName in ns.
func churn(ctx context.Context, ns, rqName string) churnResult {
	var res churnResult
	var alive []string
	ticker := time.NewTicker(churnEvery)
	defer ticker.Stop()
	end := time.Now().Add(churnFor)
	for i := 0; time.Now().Before(end); i++ {
		<-ticker.C
		rq := &corev1.ResourceQuota{}
		if err := adminClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: rqName}, rq); err != nil {
			res.others = append(res.others, err)
			continue
		}
		before := rq.Status.Used[corev1.ResourcePods]
		if before.Value() > res.maxUsed {
			res.maxUsed = before.Value()
		}
		name := fmt.Sprintf("churn-%d", i)
		err := createPod(ns, name)
		switch {
		case err == nil:
			res.created++
			alive = append(alive, name)
		case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"):
			res.refused++
			if before.Value() < churnRoom {
				res.refusedWithRoom = append(res.refusedWithRoom, fmt.Sprintf("%s at used %s: %v", name, before.String(), err))
			}
		default:
			res.others = append(res.others, err)
		}
		if len(alive) >= churnRoom {
			if err := adminClient.Delete(ctx, pod(ns, alive[0])); err != nil && !apierrors.IsNotFound(err) {
				res.others = append(res.others, err)
			}
			alive = alive[1:]
		}
	}
	return res
}

// TestChurn runs, for one minute, a pod created every 200 ms (and the
// oldest deleted once three are alive) against a hierarchical quota that
// leaves room for 3, and in the same run the same churn against a plain
// ResourceQuota of pods: 3. Canopy must refuse no more creations than the
// plain ResourceQuota, never refuse one while the singleton's status.used
// shows room, and never go over.
func TestChurn(t *testing.T) {
	admin(t)
	ctx := context.Background()
	tree(t, "churn-root", "churn-held=churn-root", "churn-ns=churn-root", "churn-plain")
	hrq(t, "churn-root", "churn", fmt.Sprintf("pods=%d", churnTarget), "churn-root", "churn-held", "churn-ns")
	for i := range churnHeld {
		mustCreatePods(t, "churn-held", fmt.Sprintf("held-%d", i))
	}
	plain := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "churn-plain", Name: "plain"},
		Spec: corev1.ResourceQuotaSpec{Hard: rl(t, fmt.Sprintf("pods=%d", churnRoom))}}
	if err := adminClient.Create(ctx, plain); err != nil {
		t.Fatal(err)
	}
	waitSingletons(t, "plain", rl(t, "pods=1"), "churn-plain")
	waitHRQUsed(t, "churn-root", "churn", corev1.ResourcePods, churnHeld)

	var canopy, kube churnResult
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); canopy = churn(ctx, "churn-ns", quota.UnscopedSingletonName) }()
	go func() { defer wg.Done(); kube = churn(ctx, "churn-plain", "plain") }()
	wg.Wait()
	t.Logf("Canopy: %d created, %d refused; plain ResourceQuota: %d created, %d refused", canopy.created, canopy.refused, kube.created, kube.refused)

	for _, err := range append(canopy.others, kube.others...) {
		t.Errorf("churn failed for a reason other than quota: %v", err)
	}
	if canopy.refused > kube.refused {
		t.Errorf("Canopy refused %d creations, the plain ResourceQuota %d", canopy.refused, kube.refused)
	}
	for _, r := range canopy.refusedWithRoom {
		t.Errorf("Canopy refused a creation while the singleton's status.used showed room: %s", r)
	}
	if canopy.maxUsed > churnRoom {
		t.Errorf("churn namespace used %d pods, above its room of %d", canopy.maxUsed, churnRoom)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		if n := countPods(t, "churn-root", "churn-held", "churn-ns"); n > churnTarget {
			return fmt.Errorf("%d pods in the tree, above %d", n, churnTarget)
		}
		return nil
	})
}
