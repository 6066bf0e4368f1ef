package quota

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/quota"
)

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(hncv1.AddToScheme(s))
	utilruntime.Must(tenancyv1.AddToScheme(s))
	return s
}

func TestReconcileTree(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "q"},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, "pods=4")}}
	hq := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "root", Name: "hq", Generation: 1},
		Spec: tenancyv1.HierarchicalQuotaSpec{Hard: rl(t, "pods=10")}}
	// A singleton left in b by an earlier quota, now reporting usage, and a
	// stale one in "lone", which no quota covers.
	inB := singleton("b", "", rl(t, "pods=1"))
	inB.Status.Used = rl(t, "pods=2")
	inA1 := singleton("a1", "", rl(t, "pods=4"))
	inA1.Status.Used = rl(t, "pods=1")
	stale := singleton("lone", "", rl(t, "pods=1"))
	c := fake.NewClientBuilder().WithScheme(testScheme()).
		WithObjects(hrq, hq, &inB, &inA1, &stale).
		WithStatusSubresource(&tenancyv1.HierarchicalQuota{}).Build()
	r := &Reconciler{Client: c, Forest: testForest(), Ledgers: LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"},
		Now: func() time.Time { return now }}

	res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: "a1"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != DefaultResync {
		t.Errorf("RequeueAfter = %v, want %v for a tree with quotas", res.RequeueAfter, DefaultResync)
	}
	var rqs corev1.ResourceQuotaList
	if err := c.List(ctx, &rqs, client.MatchingLabels{LabelSingleton: "true"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rq := range rqs.Items {
		got[rq.Namespace] = quota.String(rq.Spec.Hard)
	}
	want := map[string]string{"root": "pods=10", "a": "pods=4", "a1": "pods=4", "b": "pods=10", "lone": "pods=1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("singleton hard by namespace (-want +got):\n%s", diff)
	}

	stored, err := r.Ledgers.Get(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	wantLedger := map[quota.Key]string{{Namespace: "a1"}: "pods=1", {Namespace: "b"}: "pods=2"}
	gotLedger := map[quota.Key]string{}
	for k, e := range stored.Ledger.Entries {
		gotLedger[k] = quota.String(e.Used)
	}
	if diff := cmp.Diff(wantLedger, gotLedger); diff != "" {
		t.Errorf("ledger (-want +got):\n%s", diff)
	}

	gotHRQ := &hncv1.HierarchicalResourceQuota{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(hrq), gotHRQ); err != nil {
		t.Fatal(err)
	}
	if u := gotHRQ.Status.Used[corev1.ResourcePods]; u.Value() != 1 {
		t.Errorf("HRQ used pods = %s, want 1 (a1 only)", u.String())
	}
	gotHQ := &tenancyv1.HierarchicalQuota{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(hq), gotHQ); err != nil {
		t.Fatal(err)
	}
	if gotHQ.Status.RequestsSummary != "pods: 3/10" {
		t.Errorf("HQ requestsSummary = %q, want %q", gotHQ.Status.RequestsSummary, "pods: 3/10")
	}

	// The lone namespace's tree has no quota: its stale singleton goes.
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: "lone"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(&stale), &corev1.ResourceQuota{}); err == nil {
		t.Errorf("stale singleton in lone still exists")
	}
}

// Before the forest has loaded every namespace looks like a lone root:
// reconciling then would delete the singletons of every descendant.
func TestReconcileWaitsForTheForest(t *testing.T) {
	ctx := context.Background()
	inA1 := singleton("a1", "", rl(t, "pods=4"))
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(&inA1).Build()
	r := &Reconciler{Client: c, Forest: testForest(), Ledgers: LedgerStore{Client: c, Reader: c, Namespace: "canopy-system"},
		Loaded: func() bool { return false }}
	res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Name: "a1"}})
	if err != nil || res.RequeueAfter == 0 {
		t.Fatalf("Reconcile before load = %+v, %v; want a timed requeue", res, err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(&inA1), &corev1.ResourceQuota{}); err != nil {
		t.Errorf("singleton touched before the forest loaded: %v", err)
	}
}

func TestKeepReservations(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	grace := 30 * time.Second
	l := &quota.Ledger{Root: "r", Entries: map[quota.Key]quota.Entry{
		{Namespace: "fresh"}:   {Used: rl(t, "pods=3"), ReservedAt: now.Add(-time.Second)},
		{Namespace: "old"}:     {Used: rl(t, "pods=3"), ReservedAt: now.Add(-time.Minute)},
		{Namespace: "phantom"}: {Used: rl(t, "pods=5"), ReservedAt: now.Add(-time.Minute)},
	}}
	actual := quota.Usage{{Namespace: "fresh"}: rl(t, "pods=3"), {Namespace: "old"}: rl(t, "pods=3"), {Namespace: "phantom"}: rl(t, "pods=4")}
	got := KeepReservations(l, actual, now, grace)
	want := map[string]string{
		"fresh":   "pods=3 reserved",
		"old":     "pods=3",
		"phantom": "pods=4",
	}
	gotS := map[string]string{}
	for k, e := range got.Entries {
		v := quota.String(e.Used)
		if !e.ReservedAt.IsZero() {
			v += " reserved"
		}
		gotS[k.Namespace] = v
	}
	if diff := cmp.Diff(want, gotS); diff != "" {
		t.Errorf("KeepReservations (-want +got):\n%s", diff)
	}
}
