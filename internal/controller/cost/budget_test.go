package cost

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestDecideBudget(t *testing.T) {
	tests := []struct {
		name     string
		budget   *tenancyv1.Budget
		spent    float64
		currency string
		previous []int32
		known    bool
		want     BudgetDecision
	}{{
		name:  "no budget",
		spent: 10, currency: "USD", known: true,
		want: BudgetDecision{},
	}, {
		name:   "two thresholds crossed, none announced yet",
		budget: budget("2000", 50, 80, 100), spent: 1700, currency: "USD", known: true,
		want: BudgetDecision{
			Condition: &metav1.Condition{Type: tenancyv1.ConditionBudgetExceeded, Status: metav1.ConditionFalse, Reason: ReasonWithinBudget, ObservedGeneration: 3,
				Message: "Month-to-date spend 1700.00 USD is 85% of the monthly budget of 2000.00 USD for 2026-11; thresholds crossed: 50,80"},
			Crossed: []int32{50, 80}, NewlyCrossed: []int32{50, 80},
		},
	}, {
		name:   "exceeded, 50 and 80 announced before",
		budget: budget("2000", 50, 80, 100), spent: 2000, currency: "USD", previous: []int32{50, 80}, known: true,
		want: BudgetDecision{
			Condition: &metav1.Condition{Type: tenancyv1.ConditionBudgetExceeded, Status: metav1.ConditionTrue, Reason: ReasonBudgetExceeded, ObservedGeneration: 3,
				Message: "Month-to-date spend 2000.00 USD is 100% of the monthly budget of 2000.00 USD for 2026-11; thresholds crossed: 50,80,100"},
			Crossed: []int32{50, 80, 100}, NewlyCrossed: []int32{100},
		},
	}, {
		name:   "previous unknown: nothing announced",
		budget: budget("2000", 50), spent: 1500, currency: "USD", known: false,
		want: BudgetDecision{
			Condition: &metav1.Condition{Type: tenancyv1.ConditionBudgetExceeded, Status: metav1.ConditionFalse, Reason: ReasonWithinBudget, ObservedGeneration: 3,
				Message: "Month-to-date spend 1500.00 USD is 75% of the monthly budget of 2000.00 USD for 2026-11; thresholds crossed: 50"},
			Crossed: []int32{50},
		},
	}, {
		name:   "currency mismatch",
		budget: budget("2000", 50), spent: 1500, currency: "EUR", previous: []int32{50}, known: true,
		want: BudgetDecision{
			Condition: &metav1.Condition{Type: tenancyv1.ConditionBudgetExceeded, Status: metav1.ConditionUnknown, Reason: ReasonBudgetInvalid, ObservedGeneration: 3,
				Message: "The budget cannot be evaluated: budget is in USD but spend is in EUR"},
			Crossed: []int32{50},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecideBudget(tenant("pay", 3, tc.budget), m(tc.spent), tc.currency, "2026-11", tc.previous, tc.known)
			if d := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(BudgetDecision{}, "Status")); d != "" {
				t.Errorf("decision (-want +got):\n%s", d)
			}
		})
	}
}

func TestPreviouslyCrossed(t *testing.T) {
	cond := func(reason, msg string) []metav1.Condition {
		return []metav1.Condition{{Type: tenancyv1.ConditionCostAvailable, Message: "x; thresholds crossed: 1"},
			{Type: tenancyv1.ConditionBudgetExceeded, Reason: reason, Message: msg}}
	}
	tests := []struct {
		name   string
		conds  []metav1.Condition
		want   []int32
		wantOK bool
	}{
		{"no condition", nil, nil, true},
		{"this month", cond(ReasonWithinBudget, "Month-to-date spend 1.00 USD is 85% of the monthly budget of 2.00 USD for 2026-11; thresholds crossed: 50,80"), []int32{50, 80}, true},
		{"this month, none", cond(ReasonWithinBudget, "Month-to-date spend 0.00 USD is 0% of the monthly budget of 2.00 USD for 2026-11; thresholds crossed: none"), nil, true},
		{"last month", cond(ReasonBudgetExceeded, "Month-to-date spend 3.00 USD is 150% of the monthly budget of 2.00 USD for 2026-10; thresholds crossed: 50,80,100"), nil, true},
		{"invalid budget announced nothing", cond(ReasonBudgetInvalid, "The budget cannot be evaluated: x"), nil, true},
		{"unreadable", cond(ReasonWithinBudget, "edited by hand"), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PreviouslyCrossed(tc.conds, "2026-11")
			if ok != tc.wantOK || !cmp.Equal(tc.want, got) {
				t.Errorf("PreviouslyCrossed = %v, %v; want %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
