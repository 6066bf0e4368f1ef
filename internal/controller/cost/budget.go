package cost

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
)

// Condition reasons and the event reason.
const (
	ReasonCostReported   = "CostReported"
	ReasonBudgetExceeded = "BudgetExceeded"
	ReasonWithinBudget   = "WithinBudget"
	ReasonBudgetInvalid  = "BudgetInvalid"

	EventBudgetThresholdCrossed = "BudgetThresholdCrossed"
)

// BudgetDecision is what a tenant's budget calls for after a report.
type BudgetDecision struct {
	// Condition is BudgetExceeded, or nil when the tenant has no budget.
	Condition *metav1.Condition
	Status    cost.BudgetStatus
	// Crossed are the thresholds crossed this month, to remember.
	Crossed []int32
	// NewlyCrossed are the thresholds to announce with an event.
	NewlyCrossed []int32
}

// DecideBudget evaluates t's budget against month-to-date spend in
// currency. month is the current month ("2026-11"); previous are the
// thresholds already announced this month. The condition's message records
// month and the crossed thresholds, which PreviouslyCrossed reads back.
// When known is false the previous thresholds could not be read, and the
// thresholds crossed now are taken as announced.
func DecideBudget(t *tenancyv1.Tenant, spent cost.Micro, currency, month string, previous []int32, known bool) BudgetDecision {
	b := t.Spec.Budget
	if b == nil {
		return BudgetDecision{}
	}
	st, err := cost.EvaluateBudget(b, spent, currency)
	if err != nil {
		return BudgetDecision{
			Condition: &metav1.Condition{
				Type: tenancyv1.ConditionBudgetExceeded, Status: metav1.ConditionUnknown,
				Reason: ReasonBudgetInvalid, ObservedGeneration: t.Generation,
				Message: fmt.Sprintf("The budget cannot be evaluated: %v", err),
			},
			Crossed: previous,
		}
	}
	if !known {
		previous = st.Crossed
	}
	crossed := slices.Clone(st.Crossed)
	for _, p := range previous {
		if !slices.Contains(crossed, p) {
			crossed = append(crossed, p)
		}
	}
	slices.Sort(crossed)
	c := &metav1.Condition{
		Type: tenancyv1.ConditionBudgetExceeded, Status: metav1.ConditionFalse,
		Reason: ReasonWithinBudget, ObservedGeneration: t.Generation,
		Message: budgetMessage(st, currency, month, crossed),
	}
	if st.Exceeded {
		c.Status, c.Reason = metav1.ConditionTrue, ReasonBudgetExceeded
	}
	return BudgetDecision{Condition: c, Status: st, Crossed: crossed, NewlyCrossed: cost.NewlyCrossed(previous, st.Crossed)}
}

func budgetMessage(st cost.BudgetStatus, currency, month string, crossed []int32) string {
	list := "none"
	if len(crossed) > 0 {
		s := make([]string, len(crossed))
		for i, p := range crossed {
			s[i] = strconv.Itoa(int(p))
		}
		list = strings.Join(s, ",")
	}
	return fmt.Sprintf("Month-to-date spend %s %s is %d%% of the monthly budget of %s %s for %s; thresholds crossed: %s",
		cost.RoundCent(st.Spent), currency, percent(st), cost.RoundCent(st.Budget), currency, month, list)
}

// percent is the whole percentage of the budget spent, rounded down.
func percent(st cost.BudgetStatus) int64 {
	if st.Budget <= 0 {
		return 0
	}
	return int64(st.Spent) * 100 / int64(st.Budget)
}

var crossedRE = regexp.MustCompile(`for (\d{4}-\d{2}); thresholds crossed: (none|\d+(?:,\d+)*)$`)

// PreviouslyCrossed reads the thresholds already announced in month from
// an existing BudgetExceeded condition. ok is false when the condition
// exists but cannot be read: the caller then announces nothing rather than
// risk repeating events.
func PreviouslyCrossed(conds []metav1.Condition, month string) (crossed []int32, ok bool) {
	var c *metav1.Condition
	for i := range conds {
		if conds[i].Type == tenancyv1.ConditionBudgetExceeded {
			c = &conds[i]
		}
	}
	if c == nil {
		return nil, true
	}
	if c.Reason == ReasonBudgetInvalid {
		// Nothing was evaluated, so nothing was announced.
		return nil, true
	}
	m := crossedRE.FindStringSubmatch(c.Message)
	if m == nil {
		return nil, false
	}
	if m[1] != month || m[2] == "none" {
		return nil, true
	}
	for _, s := range strings.Split(m[2], ",") {
		p, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, false
		}
		crossed = append(crossed, int32(p))
	}
	return crossed, true
}
