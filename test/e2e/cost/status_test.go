package cost

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// openCostOvershoot: OpenCost's last daily step is not cut at the
// window's end, so it counts a running pod until Prometheus' 5-minute
// lookback past its last sample, here past the read; plus a minute of
// resolution.
const openCostOvershoot = 6 * time.Minute

// hourlyCost is each tenant's own cost per hour of history (idle and
// shared cost kept separate, as the manager is configured here).
var hourlyCost = map[string]float64{"payments": 36.0 / 24, "search": 18.0 / 24}

// checkStatus checks the
// month-to-date and last-month figures it writes into each Tenant's status
// against the hours of history inside each month. The pods keep running
// after the history ends, as OpenCost keeps exporting them, so month to
// date may exceed the history by what they cost since then (and up to
// openCostOvershoot beyond).
func checkStatus(t *testing.T, env *framework.Env, historyEnd time.Time) {
	historyStart := historyEnd.Add(-historyLength)
	for name, rate := range hourlyCost {
		var got *tenancyv1.Tenant
		framework.Eventually(t, 2*time.Minute, func(ctx context.Context) error {
			got = &tenancyv1.Tenant{}
			if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, got); err != nil {
				return err
			}
			if !meta.IsStatusConditionTrue(got.Status.Conditions, tenancyv1.ConditionCostAvailable) || got.Status.Cost == nil {
				return fmt.Errorf("tenant %s has no cost yet: %+v", name, got.Status.Conditions)
			}
			return nil
		})
		c := got.Status.Cost
		readAt := c.UpdatedAt.Time
		mtd, last := period.MonthOf(readAt), period.MonthOf(period.MonthOf(readAt).Start.Add(-time.Hour))
		inMonth := func(w period.Window, to time.Time) float64 {
			lo, hi := maxTime(w.Start, historyStart), minTime(w.End, to)
			return max(hi.Sub(lo).Hours(), 0) * rate
		}
		// Whole cents either side, for display rounding and the minute
		// OpenCost's resolution gives the history's edges.
		wantMTD := inMonth(mtd, historyEnd)
		liveMTD := inMonth(mtd, readAt.Add(openCostOvershoot)) - wantMTD
		if g := parseMoney(t, c.MonthToDate); g < wantMTD-0.011 || g > wantMTD+liveMTD+0.011 {
			t.Errorf("tenant %s: monthToDate = %s, want %.2f (history) to %.2f (pods kept running until %s)",
				name, c.MonthToDate, wantMTD, wantMTD+liveMTD, readAt.Format(time.RFC3339))
		}
		wantLast := inMonth(last, historyEnd)
		if g := parseMoney(t, c.LastMonth); math.Abs(g-wantLast) > 0.011 {
			t.Errorf("tenant %s: lastMonth = %s, want %.2f", name, c.LastMonth, wantLast)
		}
		if c.Currency != "USD" {
			t.Errorf("tenant %s: currency = %q, want USD", name, c.Currency)
		}
	}
}

func parseMoney(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("cost %q is not a number: %v", s, err)
	}
	return f
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
