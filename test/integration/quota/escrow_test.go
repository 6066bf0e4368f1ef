package quota

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/metrics"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// ledgerWrites counts the writes of root's ledger until the returned func
// is called, which returns the count.
func ledgerWrites(t *testing.T, root string) func() int {
	t.Helper()
	wc, err := client.NewWithWatch(env.CP.Config, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, &corev1.ConfigMapList{}, client.InNamespace(env.Options.Forest.ManagerNamespace),
		&client.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", ctrlquota.LedgerName(root))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan int)
	go func() {
		n := 0
		for ev := range w.ResultChan() {
			if ev.Type == watch.Modified {
				n++
			}
		}
		done <- n
	}()
	// The watch starts at the ledger's current version: only later writes
	// count (the watch first sends the ledger as ADDED). Give it a moment to be established.
	time.Sleep(200 * time.Millisecond)
	return func() int {
		time.Sleep(200 * time.Millisecond)
		w.Stop()
		cancel()
		return <-done
	}
}

// TestEscrowAdmitsWithoutALedgerWrite: in a tree with room to spare, a
// namespace's admissions after its first are allowed within its grant,
// with no write of the tree's ledger; usage stays exact; and a user cannot
// change the singleton's epoch, which fences the grant.
func TestEscrowAdmitsWithoutALedgerWrite(t *testing.T) {
	admin(t)
	tree(t, "esc-root", "esc-a=esc-root")
	hrq(t, "esc-root", "roomy", "pods=1000", "esc-root", "esc-a")
	mustCreatePods(t, "esc-a", "first")
	waitHRQUsed(t, "esc-root", "roomy", corev1.ResourcePods, 1)

	within := metrics.EscrowCount(metrics.EscrowWithin)
	stop := ledgerWrites(t, "esc-root")
	const n = 50
	for i := range n {
		mustCreatePods(t, "esc-a", fmt.Sprintf("p%d", i))
	}
	writes := stop()
	fast := metrics.EscrowCount(metrics.EscrowWithin) - within
	t.Logf("%d admissions: %d ledger writes, %.0f within the grant", n, writes, fast)
	// The first admission got a grant of 64 more; it covers all 50.
	if writes > 1 {
		t.Errorf("%d admissions wrote the ledger %d times, want at most 1", n, writes)
	}
	if fast < n-1 {
		t.Errorf("%.0f of %d admissions were within the grant, want at least %d", fast, n, n-1)
	}
	waitHRQUsed(t, "esc-root", "roomy", corev1.ResourcePods, n+1)
	if got := countPods(t, "esc-root", "esc-a"); got != n+1 {
		t.Errorf("%d pods, want %d", got, n+1)
	}

	rq := &corev1.ResourceQuota{}
	if err := adminClient.Get(context.Background(), client.ObjectKey{Namespace: "esc-a", Name: quota.UnscopedSingletonName}, rq); err != nil {
		t.Fatal(err)
	}
	if rq.Annotations[ctrlquota.AnnotationEpoch] == "" {
		t.Fatal("the singleton has no escrow epoch")
	}
	rq.Annotations[ctrlquota.AnnotationEpoch] = "chosen-by-a-user"
	if err := adminClient.Update(context.Background(), rq); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "maintained by Canopy") {
		t.Errorf("a user's change of the escrow epoch: %v, want it refused", err)
	}
}

// TestEscrowRevokedForRoomThatFits: a grant another namespace holds but
// does not use never makes the tree refuse what fits. a's first pod gets a
// grant of 4 more; b may still fill the tree to exactly its hard, and the
// grant is revoked on the way.
func TestEscrowRevokedForRoomThatFits(t *testing.T) {
	admin(t)
	tree(t, "rev-root", "rev-a=rev-root", "rev-b=rev-root")
	hrq(t, "rev-root", "tight", "pods=40", "rev-root", "rev-a", "rev-b")
	mustCreatePods(t, "rev-a", "a-0")
	waitHRQUsed(t, "rev-root", "tight", corev1.ResourcePods, 1)
	ledger := &corev1.ConfigMap{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: env.Options.Forest.ManagerNamespace, Name: ctrlquota.LedgerName("rev-root")}, ledger); err != nil {
		t.Fatal(err)
	}
	if g := ledger.Data["_grant.rev-a"]; !strings.HasPrefix(g, "pods=5;") {
		t.Fatalf("rev-a's grant = %q, want pods=5", g)
	}
	epoch := singletonEpoch(t, "rev-a")
	revoked := metrics.EscrowCount(metrics.EscrowRevoked)

	admitted := 0
	for i := range 45 {
		err := createPod("rev-b", fmt.Sprintf("b-%d", i))
		if err != nil {
			if !strings.Contains(err.Error(), "exceeded quota") {
				t.Fatalf("pod b-%d: %v, want admitted or refused by quota", i, err)
			}
			break
		}
		admitted++
	}
	if admitted != 39 {
		t.Errorf("rev-b admitted %d beside rev-a's 1 under pods=40, want 39", admitted)
	}
	if metrics.EscrowCount(metrics.EscrowRevoked)-revoked < 1 {
		t.Error("no grant was revoked")
	}
	if singletonEpoch(t, "rev-a") == epoch {
		t.Error("rev-a's singleton kept its epoch: its grant was not fenced")
	}
	mustDeny(t, "rev-a", "a-1", `HierarchicalResourceQuota "tight"`)
	waitHRQUsed(t, "rev-root", "tight", corev1.ResourcePods, 40)
	if n := countPods(t, "rev-root", "rev-a", "rev-b"); n != 40 {
		t.Errorf("%d pods in the tree, want 40", n)
	}
}

// TestEscrowStopsWhenTheQuotaChanges: a grant decided under one hard admits
// nothing once the hard is lowered. a holds a grant of 64 more; with the
// hard lowered to 7, which b's 5 pods and a's 1 leave room for one more in
// all, a's second pod is admitted and its third refused.
func TestEscrowStopsWhenTheQuotaChanges(t *testing.T) {
	admin(t)
	tree(t, "low-root", "low-a=low-root", "low-b=low-root")
	hrq(t, "low-root", "q", "pods=1000", "low-root", "low-a", "low-b")
	mustCreatePods(t, "low-a", "a-0")
	mustCreatePods(t, "low-b", "b-0", "b-1", "b-2", "b-3", "b-4")
	waitHRQUsed(t, "low-root", "q", corev1.ResourcePods, 6)

	ctx := context.Background()
	h := &hncv1.HierarchicalResourceQuota{}
	if err := adminClient.Get(ctx, client.ObjectKey{Namespace: "low-root", Name: "q"}, h); err != nil {
		t.Fatal(err)
	}
	h.Spec.Hard = rl(t, "pods=7")
	if err := adminClient.Update(ctx, h); err != nil {
		t.Fatal(err)
	}
	// Once the singletons say 7, the manager's cache holds the new hard.
	for _, ns := range []string{"low-a", "low-b"} {
		waitSingletonHard(t, ns, 7)
	}
	mustCreatePods(t, "low-a", "a-1")
	mustDeny(t, "low-a", "a-2", `HierarchicalResourceQuota "q"`)
	if n := countPods(t, "low-root", "low-a", "low-b"); n != 7 {
		t.Errorf("%d pods in the tree, want 7", n)
	}
}

func singletonEpoch(t *testing.T, ns string) string {
	t.Helper()
	rq := &corev1.ResourceQuota{}
	if err := adminClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: quota.UnscopedSingletonName}, rq); err != nil {
		t.Fatal(err)
	}
	return rq.Annotations[ctrlquota.AnnotationEpoch]
}

func waitSingletonHard(t *testing.T, ns string, pods int64) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		rq := &corev1.ResourceQuota{}
		if err := adminClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: quota.UnscopedSingletonName}, rq); err != nil {
			return err
		}
		if got := rq.Spec.Hard[corev1.ResourcePods]; got.Value() != pods {
			return fmt.Errorf("singleton in %s: hard pods %s, want %d", ns, got.String(), pods)
		}
		return nil
	})
}

// TestEscrowAsATeamLead: a team lead with the admin role in a namespace
// under a roomy quota creates pods with their own credentials; after the
// first, they are admitted within the namespace's grant, usage stays
// exact, and the lead can change neither the singleton's epoch nor the
// singleton.
func TestEscrowAsATeamLead(t *testing.T) {
	admin(t)
	ctx := context.Background()
	tree(t, "lead-root", "lead-a=lead-root")
	hrq(t, "lead-root", "roomy", "pods=1000", "lead-root", "lead-a")
	lia := teamLead(t, "lead-a", "lia", "escrow-leads", "lead-a")

	within := metrics.EscrowCount(metrics.EscrowWithin)
	const n = 20
	for i := range n {
		if err := lia.Create(ctx, pod("lead-a", fmt.Sprintf("p%d", i))); err != nil {
			t.Fatalf("the lead's pod %d: %v", i, err)
		}
	}
	if fast := metrics.EscrowCount(metrics.EscrowWithin) - within; fast < n-1 {
		t.Errorf("%.0f of the lead's %d admissions were within the grant, want at least %d", fast, n, n-1)
	}
	waitHRQUsed(t, "lead-root", "roomy", corev1.ResourcePods, n)

	rq := &corev1.ResourceQuota{}
	if err := lia.Get(ctx, client.ObjectKey{Namespace: "lead-a", Name: quota.UnscopedSingletonName}, rq); err != nil {
		t.Fatal(err)
	}
	rq.Annotations[ctrlquota.AnnotationEpoch] = "chosen-by-the-lead"
	if err := lia.Update(ctx, rq); !apierrors.IsForbidden(err) {
		t.Errorf("the lead's change of the escrow epoch: %v, want Forbidden", err)
	}
	rq.Annotations[ctrlquota.AnnotationEpoch] = singletonEpoch(t, "lead-a")
	rq.Spec.Hard = rl(t, "pods=100000")
	if err := lia.Update(ctx, rq); !apierrors.IsForbidden(err) {
		t.Errorf("the lead's raise of the singleton's hard: %v, want Forbidden", err)
	}
}
