package quota

import (
	"context"
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

// TestRevocationAndDryRun: under pods=40, a holds 1 pod and a grant up to 5
// and b holds 35. b's 36th fits the 40 only once a's grant is revoked. A
// dry run of it is allowed and revokes nothing (a dry run has no side
// effects); the real admission is allowed and revokes the grant, fencing
// it with a new epoch on a's singleton.
func TestRevocationAndDryRun(t *testing.T) {
	ctx := context.Background()
	f := chain("root", "a", "b")
	f.Lock()
	f.Get("a").SetParent(f.Get("root"))
	f.Get("b").SetParent(f.Get("root"))
	f.Unlock()
	singleton := func(ns, used, epoch string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: quota.UnscopedSingletonName,
				Labels: map[string]string{ctrlquota.LabelSingleton: "true"}, Annotations: map[string]string{ctrlquota.AnnotationEpoch: epoch}},
			Spec:   corev1.ResourceQuotaSpec{Hard: rl(t, "pods=40")},
			Status: corev1.ResourceQuotaStatus{Hard: rl(t, "pods=40"), Used: rl(t, used)},
		}
	}
	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=40")}}
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(hrq,
		singleton("root", "pods=0", "er"), singleton("a", "pods=1", "ea"), singleton("b", "pods=35", "eb")).Build()
	h := &StatusHandler{Forest: f, Cache: c, Live: c, Decoder: admission.NewDecoder(testScheme()),
		Ledgers: ctrlquota.LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"}}
	l := &quota.Ledger{Root: "root", Entries: map[quota.Key]quota.Entry{},
		Grants: map[quota.Key]quota.Grant{{Namespace: "a"}: {Up: rl(t, "pods=5"), Epoch: "ea", Cover: "c"}}}
	if err := h.Ledgers.Put(ctx, ctrlquota.StoredLedger{}, l); err != nil {
		t.Fatal(err)
	}
	epochOfA := func() string {
		rq := &corev1.ResourceQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "a", Name: quota.UnscopedSingletonName}, rq); err != nil {
			t.Fatal(err)
		}
		return rq.Annotations[ctrlquota.AnnotationEpoch]
	}
	grantOfA := func() bool {
		stored, err := h.Ledgers.Get(ctx, "root")
		if err != nil {
			t.Fatal(err)
		}
		_, ok := stored.Ledger.Grants[quota.Key{Namespace: "a"}]
		return ok
	}

	dry := statusRequest(t, "b", 35, 36)
	yes := true
	dry.DryRun = &yes
	if resp := h.Handle(ctx, dry); !resp.Allowed {
		t.Fatalf("dry run of b's 36th: %+v, want allowed", resp.Result)
	}
	if epochOfA() != "ea" || !grantOfA() {
		t.Fatal("a dry run revoked a's grant")
	}
	if resp := h.Handle(ctx, statusRequest(t, "b", 35, 36)); !resp.Allowed {
		t.Fatalf("b's 36th: %+v, want allowed once a's grant is revoked", resp.Result)
	}
	if epochOfA() == "ea" {
		t.Error("a's singleton kept the grant's epoch")
	}
	if grantOfA() {
		t.Error("a's grant is still in the ledger")
	}
	if resp := h.Handle(ctx, statusRequest(t, "b", 36, 40)); resp.Allowed {
		t.Error("b's 40th beside a's 1 under pods=40 was allowed")
	}
}
