package cost

import (
	"fmt"
	"math/big"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// DefaultBudgetCurrency is the currency of a budget that names none.
const DefaultBudgetCurrency = "USD"

// BudgetStatus is where month-to-date spend stands against a budget.
type BudgetStatus struct {
	Budget Micro
	Spent  Micro
	// Ratio is Spent/Budget, for the canopy_tenant_budget_ratio metric.
	Ratio float64
	// Crossed are the alertAt percentages reached, ascending.
	Crossed []int32
	// Exceeded is true once spend reaches the budget (100%).
	Exceeded bool
}

// Highest is the highest threshold crossed, or 0.
func (s BudgetStatus) Highest() int32 {
	if len(s.Crossed) == 0 {
		return 0
	}
	return s.Crossed[len(s.Crossed)-1]
}

// EvaluateBudget compares month-to-date spend, in currency, with b. A
// threshold p is crossed when spent*100 >= p*budget, in exact arithmetic.
func EvaluateBudget(b *tenancyv1alpha1.Budget, spent Micro, currency string) (BudgetStatus, error) {
	if b == nil {
		return BudgetStatus{}, fmt.Errorf("no budget")
	}
	want := b.Currency
	if want == "" {
		want = DefaultBudgetCurrency
	}
	if currency != want {
		return BudgetStatus{}, fmt.Errorf("budget is in %s but spend is in %s", want, currency)
	}
	budget, err := quantityMicro(b.Monthly)
	if err != nil {
		return BudgetStatus{}, fmt.Errorf("budget.monthly: %w", err)
	}
	if budget <= 0 {
		return BudgetStatus{}, fmt.Errorf("budget.monthly %s must be positive", b.Monthly.String())
	}
	st := BudgetStatus{Budget: budget, Spent: spent, Ratio: float64(spent) / float64(budget)}
	hundredSpent := new(big.Int).Mul(big.NewInt(int64(spent)), big.NewInt(100))
	for _, p := range b.AlertAt {
		if p <= 0 {
			return BudgetStatus{}, fmt.Errorf("budget.alertAt %d must be positive", p)
		}
		if hundredSpent.Cmp(new(big.Int).Mul(big.NewInt(int64(p)), big.NewInt(int64(budget)))) >= 0 {
			st.Crossed = append(st.Crossed, p)
		}
	}
	slices.Sort(st.Crossed)
	st.Crossed = slices.Compact(st.Crossed)
	st.Exceeded = spent >= budget
	return st, nil
}

// NewlyCrossed lists the thresholds in current that are not in previous,
// for the events to emit once.
func NewlyCrossed(previous, current []int32) []int32 {
	var out []int32
	for _, p := range current {
		if !slices.Contains(previous, p) {
			out = append(out, p)
		}
	}
	return out
}

func quantityMicro(q resource.Quantity) (Micro, error) {
	if q.CmpInt64(int64(maxFloatUnits)) > 0 {
		return 0, fmt.Errorf("%s is too large", q.String())
	}
	return Micro(q.ScaledValue(resource.Micro)), nil
}
