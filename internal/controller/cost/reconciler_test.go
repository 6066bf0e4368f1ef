package cost

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newReconciler(t *testing.T, oc opencost.Client, clk *clock, objs ...*tenancyv1.Tenant) (*Reconciler, *events.FakeRecorder) {
	t.Helper()
	var cobjs []client.Object
	for _, o := range objs {
		cobjs = append(cobjs, o)
	}
	rec := events.NewFakeRecorder(100)
	return &Reconciler{
		Client:    fakeClient(t, cobjs...),
		OpenCost:  oc,
		Forest:    testForest(t),
		Recorder:  rec,
		Collector: &Collector{},
		Config:    Config{Interval: time.Hour, Backoff: 30 * time.Second, Currency: "USD"},
		Now:       clk.now,
	}, rec
}

func reconcileOnce(t *testing.T, r *Reconciler) ctrl.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), Key)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return res
}

func drain(rec *events.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func conditionsByType(conds []metav1.Condition) map[string]metav1.Condition {
	out := map[string]metav1.Condition{}
	for _, c := range conds {
		c.LastTransitionTime = metav1.Time{}
		out[c.Type] = c
	}
	return out
}

func TestReconcileWritesStatus(t *testing.T) {
	oc := &fakeOpenCost{steps: map[time.Time][]opencost.Allocation{
		novStart: {alloc("pay", 4, 2), alloc("pay-api", 1.5, 0.5), alloc("pay-api-staging", 0.005, 0), alloc("web", 2, 0), alloc(opencost.KeyIdle, 5, 0)},
		octStart: {alloc("pay", 100, 0)},
	}}
	clk := &clock{now}
	r, _ := newReconciler(t, oc, clk,
		tenant("pay", 2, nil, tenancyv1.Team{Name: "api", Namespace: "pay-api"}), tenant("web", 5, nil))
	if res := reconcileOnce(t, r); res.RequeueAfter != time.Hour {
		t.Errorf("RequeueAfter = %v, want the interval", res.RequeueAfter)
	}
	at := metav1.NewTime(now)
	for _, tc := range []struct {
		name string
		gen  int64
		want tenancyv1.TenantCostStatus
	}{
		{"pay", 2, tenancyv1.TenantCostStatus{MonthToDate: "8.01", LastMonth: "100.00", Currency: "USD", UpdatedAt: &at}},
		{"web", 5, tenancyv1.TenantCostStatus{MonthToDate: "2.00", LastMonth: "0.00", Currency: "USD", UpdatedAt: &at}},
	} {
		got := getTenant(t, r.Client, tc.name)
		if d := cmp.Diff(&tc.want, got.Status.Cost); d != "" {
			t.Errorf("%s status.cost (-want +got):\n%s", tc.name, d)
		}
		wantConds := map[string]metav1.Condition{tenancyv1.ConditionCostAvailable: {
			Type: tenancyv1.ConditionCostAvailable, Status: metav1.ConditionTrue, Reason: ReasonCostReported,
			ObservedGeneration: tc.gen, Message: "Month-to-date and last-month spend were read from OpenCost"}}
		if d := cmp.Diff(wantConds, conditionsByType(got.Status.Conditions)); d != "" {
			t.Errorf("%s conditions (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestReconcileBacksOffOnFailure(t *testing.T) {
	oc := &fakeOpenCost{steps: map[time.Time][]opencost.Allocation{novStart: {alloc("pay", 3, 0)}}}
	clk := &clock{now}
	r, _ := newReconciler(t, oc, clk, tenant("pay", 1, nil))
	reconcileOnce(t, r)
	good := getTenant(t, r.Client, "pay").Status.Cost
	if good == nil || good.MonthToDate != "3.00" {
		t.Fatalf("status.cost after success = %+v", good)
	}

	oc.set(nil, &opencost.UnavailableError{URL: "http://oc/allocation", Err: errors.New("connection refused")})
	calls := oc.callCount()
	for i, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute} {
		clk.t = clk.t.Add(time.Second)
		res := reconcileOnce(t, r)
		if res.RequeueAfter != want {
			t.Errorf("failure %d: RequeueAfter = %v, want %v", i+1, res.RequeueAfter, want)
		}
		if oc.callCount() != calls+1 {
			t.Errorf("failure %d: OpenCost called %d times, want once", i+1, oc.callCount()-calls)
		}
		calls = oc.callCount()
		// A Tenant change during the backoff does not read OpenCost.
		clk.t = clk.t.Add(want / 2)
		if res := reconcileOnce(t, r); res.RequeueAfter != want-want/2 {
			t.Errorf("during backoff %d: RequeueAfter = %v, want %v", i+1, res.RequeueAfter, want-want/2)
		}
		if oc.callCount() != calls {
			t.Errorf("during backoff %d: OpenCost was called", i+1)
		}
		clk.t = clk.t.Add(want - want/2)

		got := getTenant(t, r.Client, "pay")
		c := conditionsByType(got.Status.Conditions)[tenancyv1.ConditionCostAvailable]
		if c.Status != metav1.ConditionFalse || c.Reason != opencost.ReasonUnavailable {
			t.Errorf("failure %d: CostAvailable = %s/%s, want False/%s", i+1, c.Status, c.Reason, opencost.ReasonUnavailable)
		}
		if d := cmp.Diff(good, got.Status.Cost); d != "" {
			t.Errorf("failure %d: status.cost changed (-want +got):\n%s", i+1, d)
		}
	}

	oc.set(map[time.Time][]opencost.Allocation{novStart: {alloc("pay", 4, 0)}}, nil)
	clk.t = clk.t.Add(time.Second)
	if res := reconcileOnce(t, r); res.RequeueAfter != time.Hour {
		t.Errorf("after recovery RequeueAfter = %v, want the interval", res.RequeueAfter)
	}
	got := getTenant(t, r.Client, "pay")
	if got.Status.Cost.MonthToDate != "4.00" {
		t.Errorf("monthToDate after recovery = %q, want 4.00", got.Status.Cost.MonthToDate)
	}
	if c := conditionsByType(got.Status.Conditions)[tenancyv1.ConditionCostAvailable]; c.Status != metav1.ConditionTrue {
		t.Errorf("CostAvailable after recovery = %s, want True", c.Status)
	}
}

func TestBackoffIsCappedAtTheInterval(t *testing.T) {
	r := &Reconciler{}
	cfg := Config{Interval: 5 * time.Minute, Backoff: time.Minute}.withDefaults()
	var got []time.Duration
	for range 5 {
		got = append(got, r.fail(now, cfg))
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("backoff (-want +got):\n%s", d)
	}
}

func TestBudgetEventsOncePerThreshold(t *testing.T) {
	spend := func(v float64) map[time.Time][]opencost.Allocation {
		return map[time.Time][]opencost.Allocation{novStart: {alloc("pay", v, 0)}}
	}
	oc := &fakeOpenCost{steps: spend(12)}
	clk := &clock{now}
	r, rec := newReconciler(t, oc, clk, tenant("pay", 1, budget("20", 50, 80, 100)))

	steps := []struct {
		spent      float64
		wantEvents []string
		wantStatus metav1.ConditionStatus
	}{
		{12, []string{"Normal BudgetThresholdCrossed Month-to-date spend 12.00 USD reached 50% of the monthly budget of 20.00 USD"}, metav1.ConditionFalse},
		{12.5, nil, metav1.ConditionFalse},
		{17, []string{"Normal BudgetThresholdCrossed Month-to-date spend 17.00 USD reached 80% of the monthly budget of 20.00 USD"}, metav1.ConditionFalse},
		{25, []string{"Warning BudgetThresholdCrossed Month-to-date spend 25.00 USD reached 100% of the monthly budget of 20.00 USD"}, metav1.ConditionTrue},
		{26, nil, metav1.ConditionTrue},
	}
	for i, s := range steps {
		oc.set(spend(s.spent), nil)
		clk.t = clk.t.Add(time.Minute)
		reconcileOnce(t, r)
		if d := cmp.Diff(s.wantEvents, drain(rec)); d != "" {
			t.Errorf("step %d (spent %v): events (-want +got):\n%s", i, s.spent, d)
		}
		c := conditionsByType(getTenant(t, r.Client, "pay").Status.Conditions)[tenancyv1.ConditionBudgetExceeded]
		if c.Status != s.wantStatus {
			t.Errorf("step %d: BudgetExceeded = %s, want %s", i, c.Status, s.wantStatus)
		}
	}

	// A new leader, without the first one's memory, reads what was
	// announced from the condition and repeats nothing.
	r2 := &Reconciler{Client: r.Client, OpenCost: oc, Forest: r.Forest, Recorder: rec, Config: r.Config, Now: clk.now}
	clk.t = clk.t.Add(time.Minute)
	reconcileOnce(t, r2)
	if got := drain(rec); len(got) != 0 {
		t.Errorf("new leader repeated events: %v", got)
	}

	// Next month starts over.
	clk.t = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	oc.set(map[time.Time][]opencost.Allocation{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC): {alloc("pay", 11, 0)}}, nil)
	reconcileOnce(t, r2)
	want := []string{"Normal BudgetThresholdCrossed Month-to-date spend 11.00 USD reached 50% of the monthly budget of 20.00 USD"}
	if d := cmp.Diff(want, drain(rec)); d != "" {
		t.Errorf("next month: events (-want +got):\n%s", d)
	}
}

func TestReconcileFeedsTheCollector(t *testing.T) {
	oc := &fakeOpenCost{steps: map[time.Time][]opencost.Allocation{novStart: {alloc("pay", 3, 0)}}}
	r, _ := newReconciler(t, oc, &clock{now}, tenant("pay", 1, nil))
	reconcileOnce(t, r)
	rep := r.Collector.report.Load()
	if rep == nil || rep.Tenants["pay"] == nil || rep.Tenants["pay"].MonthToDate != cost.Micro(3_000_000) {
		t.Errorf("collector report = %+v, want pay at 3", rep)
	}
}
