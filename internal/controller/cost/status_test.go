package cost

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost/opencost"
)

func TestStatusApplyHoldsOnlyOwnedFields(t *testing.T) {
	earlier := metav1.NewTime(now.Add(-time.Hour))
	tn := tenant("pay", 4, budget("100", 50))
	tn.Status = tenancyv1.TenantStatus{
		ObservedGeneration: 4,
		Namespaces:         []string{"pay"},
		Conditions: []metav1.Condition{
			{Type: tenancyv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready", LastTransitionTime: earlier},
			{Type: tenancyv1.ConditionCostAvailable, Status: metav1.ConditionTrue, Reason: ReasonCostReported, LastTransitionTime: earlier, ObservedGeneration: 4,
				Message: "Month-to-date and last-month spend were read from OpenCost"},
		},
	}
	rep := &Report{ReadAt: now, Currency: "USD", Tenants: map[string]*TenantReport{"pay": {MonthToDate: m(60.125), LastMonth: m(99.994)}}}
	b := DecideBudget(tn, m(60.125), "USD", "2026-11", nil, true)
	at := metav1.NewTime(now.Add(time.Minute))
	u, changed, err := StatusApply(tn, SuccessStatus(tn, rep, b.Condition), at)
	if err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Error("changed = false for a tenant without cost status")
	}
	want := map[string]any{
		"apiVersion": "tenancy.canopy.dev/v1alpha1",
		"kind":       "Tenant",
		"metadata":   map[string]any{"name": "pay"},
		"status": map[string]any{
			"cost": map[string]any{"monthToDate": "60.13", "lastMonth": "99.99", "currency": "USD", "updatedAt": "2026-11-15T12:00:00Z"},
			"conditions": []any{
				map[string]any{"type": "CostAvailable", "status": "True", "reason": "CostReported", "observedGeneration": int64(4),
					// Unchanged status keeps its transition time.
					"lastTransitionTime": "2026-11-15T11:00:00Z", "message": "Month-to-date and last-month spend were read from OpenCost"},
				map[string]any{"type": "BudgetExceeded", "status": "False", "reason": "WithinBudget", "observedGeneration": int64(4),
					"lastTransitionTime": "2026-11-15T12:01:00Z",
					"message":            "Month-to-date spend 60.13 USD is 60% of the monthly budget of 100.00 USD for 2026-11; thresholds crossed: 50"},
			},
		},
	}
	if d := cmp.Diff(want, u.Object); d != "" {
		t.Errorf("apply object (-want +got):\n%s", d)
	}

	// Applying the same again changes nothing.
	tn.Status.Cost = SuccessStatus(tn, rep, nil).Cost
	tn.Status.Conditions = append(tn.Status.Conditions, *b.Condition)
	if _, changed, _ := StatusApply(tn, SuccessStatus(tn, rep, b.Condition), at); changed {
		t.Error("changed = true for an identical status")
	}
	// Dropping the budget removes the condition, which is a change.
	if _, changed, _ := StatusApply(tn, SuccessStatus(tn, rep, nil), at); !changed {
		t.Error("changed = false after the budget was removed")
	}
}

func TestFailureStatus(t *testing.T) {
	last := metav1.NewTime(now.Add(-time.Hour))
	prevCost := &tenancyv1.TenantCostStatus{MonthToDate: "12.00", LastMonth: "34.00", Currency: "USD", UpdatedAt: &last}
	prevBudget := metav1.Condition{Type: tenancyv1.ConditionBudgetExceeded, Status: metav1.ConditionFalse, Reason: ReasonWithinBudget, Message: "kept"}
	tests := []struct {
		name       string
		err        error
		wantReason string
	}{
		{"unreachable", &opencost.UnavailableError{URL: "http://oc/allocation", Err: context.DeadlineExceeded}, opencost.ReasonUnavailable},
		{"bad status", &opencost.BadStatusError{URL: "http://oc/allocation", Code: 503, Excerpt: "upstream"}, opencost.ReasonBadStatus},
		{"malformed", &opencost.MalformedError{Where: `data[0]["pay"]`, Offset: 17, Err: errors.New("want a number")}, opencost.ReasonMalformed},
		{"roll-up failed", fmt.Errorf("reading month to date: %w", errors.New("conservation")), opencost.ReasonFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := tenant("pay", 2, nil)
			tn.Status.Cost = prevCost.DeepCopy()
			tn.Status.Conditions = []metav1.Condition{prevBudget}
			got := FailureStatus(tn, fmt.Errorf("reading last month: %w", tc.err))
			want := Owned{
				Cost: prevCost,
				CostAvailable: metav1.Condition{Type: tenancyv1.ConditionCostAvailable, Status: metav1.ConditionFalse,
					Reason: tc.wantReason, ObservedGeneration: 2,
					Message: "Reading OpenCost failed; status.cost keeps the last figures read: reading last month: " + tc.err.Error()},
				BudgetExceeded: &prevBudget,
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("failure status (-want +got):\n%s", d)
			}
		})
	}
}
