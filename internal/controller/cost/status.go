package cost

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/tenantstatus"
)

// FieldManager is the server-side apply field manager of this controller.
const FieldManager = "canopy-cost"

// maxMessage bounds condition messages built from errors.
const maxMessage = 1024

// Owned is the part of a Tenant's status this controller owns.
type Owned struct {
	Cost *tenancyv1.TenantCostStatus
	// CostAvailable is always set; BudgetExceeded only with a budget.
	CostAvailable  metav1.Condition
	BudgetExceeded *metav1.Condition
}

// SuccessStatus is the owned status after a successful report. budget is
// DecideBudget's condition, nil without a budget.
func SuccessStatus(t *tenancyv1.Tenant, rep *Report, budget *metav1.Condition) Owned {
	tr := rep.Tenants[t.Name]
	if tr == nil {
		tr = &TenantReport{}
	}
	at := metav1.NewTime(rep.ReadAt.UTC().Truncate(time.Second))
	return Owned{
		Cost: &tenancyv1.TenantCostStatus{
			MonthToDate: cost.RoundCent(tr.MonthToDate).String(),
			LastMonth:   cost.RoundCent(tr.LastMonth).String(),
			Currency:    rep.Currency,
			UpdatedAt:   &at,
		},
		CostAvailable: metav1.Condition{
			Type: tenancyv1.ConditionCostAvailable, Status: metav1.ConditionTrue,
			Reason: ReasonCostReported, ObservedGeneration: t.Generation,
			Message: "Month-to-date and last-month spend were read from OpenCost",
		},
		BudgetExceeded: budget,
	}
}

// FailureStatus is the owned status after a failed read: CostAvailable is
// False with err's reason, and the last figures and budget condition are
// kept as they are, so nothing partial is ever shown.
func FailureStatus(t *tenancyv1.Tenant, err error) Owned {
	msg := fmt.Sprintf("Reading OpenCost failed; status.cost keeps the last figures read: %v", err)
	if len(msg) > maxMessage {
		msg = msg[:maxMessage-3] + "..."
	}
	o := Owned{
		Cost: t.Status.Cost.DeepCopy(),
		CostAvailable: metav1.Condition{
			Type: tenancyv1.ConditionCostAvailable, Status: metav1.ConditionFalse,
			Reason: opencost.Reason(err), ObservedGeneration: t.Generation, Message: msg,
		},
	}
	if c := findCondition(t.Status.Conditions, tenancyv1.ConditionBudgetExceeded); c != nil {
		o.BudgetExceeded = c.DeepCopy()
	}
	return o
}

// StatusApply returns the status apply configuration holding exactly the
// owned fields, and whether they differ from t's status. A condition keeps
// its lastTransitionTime while its status is unchanged.
func StatusApply(t *tenancyv1.Tenant, o Owned, now metav1.Time) (*unstructured.Unstructured, bool, error) {
	changed := !equality.Semantic.DeepEqual(o.Cost, t.Status.Cost)
	conds := []metav1.Condition{o.CostAvailable}
	if o.BudgetExceeded != nil {
		conds = append(conds, *o.BudgetExceeded)
	} else if findCondition(t.Status.Conditions, tenancyv1.ConditionBudgetExceeded) != nil {
		// Leaving it out of the apply removes it.
		changed = true
	}
	for i := range conds {
		cur := findCondition(t.Status.Conditions, conds[i].Type)
		conds[i].LastTransitionTime = now
		if cur != nil && cur.Status == conds[i].Status {
			conds[i].LastTransitionTime = cur.LastTransitionTime
		}
		if cur == nil || cur.Status != conds[i].Status || cur.Reason != conds[i].Reason ||
			cur.Message != conds[i].Message || cur.ObservedGeneration != conds[i].ObservedGeneration {
			changed = true
		}
	}
	u, err := tenantstatus.ApplyObject(t.Name, tenancyv1.TenantStatus{Cost: o.Cost, Conditions: conds})
	return u, changed, err
}

func findCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}
