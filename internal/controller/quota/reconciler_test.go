package quota

import (
	"context"
	"strconv"
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
	// The ledger holds only admitted reservations; committed usage is read
	// from the singletons, so a reconcile writes no entry for it.
	wantLedger := map[quota.Key]string{}
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

func TestKeepEntry(t *testing.T) {
	v := TreeView{Root: "a", Namespaces: []string{"a", "a1"}, Tree: quota.Tree{"a": "", "a1": "a", "gone": "a"}}
	desired := map[string][]corev1.ResourceQuota{"a": {singleton("a", "", rl(t, "pods=4"))}, "a1": {singleton("a1", "", rl(t, "pods=4"))}}
	keep := KeepEntry(v, desired)
	for k, want := range map[quota.Key]bool{
		{Namespace: "a"}:     true,
		{Namespace: "a1"}:    true,
		{Namespace: "gone"}:  false,
		{Namespace: "other"}: false,
		{Namespace: "a1", Scope: "PriorityClass In (high)"}: false,
	} {
		if got := keep(k); got != want {
			t.Errorf("KeepEntry(%v) = %v, want %v", k, got, want)
		}
	}
}

// A reservation that never committed stays unsettled while no later
// version of its singleton exists; the leader settles it by writing the
// singleton once it has seen it unsettled for a whole resync.
func TestSettle(t *testing.T) {
	ctx := context.Background()
	rq := singleton("a1", "", rl(t, "pods=4"))
	rq.Status.Used = rl(t, "pods=1")
	c := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(&rq).Build()
	cur := &corev1.ResourceQuota{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(&rq), cur); err != nil {
		t.Fatal(err)
	}
	base := quota.ParseRV(cur.ResourceVersion)
	l := &quota.Ledger{Root: "a", Entries: map[quota.Key]quota.Entry{{Namespace: "a1"}: {Used: rl(t, "pods=2"), Base: base}}}
	existing := map[string][]corev1.ResourceQuota{"a1": {*cur}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &Reconciler{Client: c, Now: func() time.Time { return now }}
	if err := r.settle(ctx, "a", l, existing); err != nil {
		t.Fatal(err)
	}
	after := &corev1.ResourceQuota{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(&rq), after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != cur.ResourceVersion {
		t.Fatal("settled on the first sight of an unsettled reservation")
	}
	now = now.Add(DefaultResync / 2)
	if err := r.settle(ctx, "a", l, existing); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(&rq), after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != cur.ResourceVersion {
		t.Fatal("settled before a whole resync passed")
	}
	now = now.Add(DefaultResync / 2)
	if err := r.settle(ctx, "a", l, existing); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(&rq), after); err != nil {
		t.Fatal(err)
	}
	if !quota.Settled(base, quota.ParseRV(after.ResourceVersion), true) || after.Annotations[AnnotationSettled] != strconv.FormatUint(base, 10) {
		t.Errorf("singleton not settled: rv %s, annotations %v", after.ResourceVersion, after.Annotations)
	}
}

func TestStatusOnly(t *testing.T) {
	a := singleton("a", "", rl(t, "pods=4"))
	used := a.DeepCopy()
	used.Status.Used = rl(t, "pods=1")
	clamped := a.DeepCopy()
	clamped.Spec.Hard = rl(t, "pods=2")
	if !StatusOnly(&a, used) {
		t.Error("a change of status.used alone is not status only")
	}
	if StatusOnly(&a, clamped) {
		t.Error("a clamp (spec change) is status only")
	}
}
