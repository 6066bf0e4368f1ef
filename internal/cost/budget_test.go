package cost

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"

	tenancyv1alpha1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestEvaluateBudget(t *testing.T) {
	budget := func(monthly string, currency string, at ...int32) *tenancyv1alpha1.Budget {
		return &tenancyv1alpha1.Budget{Monthly: resource.MustParse(monthly), Currency: currency, AlertAt: at}
	}
	tests := []struct {
		name     string
		budget   *tenancyv1alpha1.Budget
		spent    Micro
		currency string
		want     BudgetStatus
		wantErr  bool
	}{
		{name: "below every threshold", budget: budget("2000", "", 50, 80, 100), spent: u(999.99), currency: "USD",
			want: BudgetStatus{Budget: u(2000), Spent: u(999.99), Ratio: 0.499995}},
		{name: "exactly at 50%", budget: budget("2000", "USD", 100, 50, 80), spent: u(1000), currency: "USD",
			want: BudgetStatus{Budget: u(2000), Spent: u(1000), Ratio: 0.5, Crossed: []int32{50}}},
		{name: "exceeded", budget: budget("2000", "USD", 50, 80, 100, 120), spent: u(2000), currency: "USD",
			want: BudgetStatus{Budget: u(2000), Spent: u(2000), Ratio: 1, Crossed: []int32{50, 80, 100}, Exceeded: true}},
		{name: "fractional budget", budget: budget("99.5", "EUR", 100), spent: u(99.5), currency: "EUR",
			want: BudgetStatus{Budget: u(99.5), Spent: u(99.5), Ratio: 1, Crossed: []int32{100}, Exceeded: true}},
		{name: "credit", budget: budget("10", "", 50), spent: u(-3), currency: "USD",
			want: BudgetStatus{Budget: u(10), Spent: u(-3), Ratio: -0.3}},
		{name: "currency mismatch", budget: budget("10", "EUR"), spent: 1, currency: "USD", wantErr: true},
		{name: "zero budget", budget: budget("0", ""), currency: "USD", wantErr: true},
		{name: "bad threshold", budget: budget("10", "", 0), currency: "USD", wantErr: true},
		{name: "no budget", currency: "USD", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EvaluateBudget(tc.budget, tc.spent, tc.currency)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("EvaluateBudget (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewlyCrossed(t *testing.T) {
	if diff := cmp.Diff([]int32{80, 100}, NewlyCrossed([]int32{50}, []int32{50, 80, 100})); diff != "" {
		t.Errorf("NewlyCrossed (-want +got):\n%s", diff)
	}
	if got := NewlyCrossed([]int32{50, 80}, []int32{50}); got != nil {
		t.Errorf("NewlyCrossed after a drop = %v, want none", got)
	}
	if got := (BudgetStatus{Crossed: []int32{50, 80}}).Highest(); got != 80 {
		t.Errorf("Highest = %d, want 80", got)
	}
}
