// Package cost checks the cost controller on the real API server: its
// server-side-applied status fields live beside the Tenant controller's
// (field managers canopy-cost and canopy-tenant), and an OpenCost outage
// sets CostAvailable=False while keeping the last good figures. OpenCost
// itself is a small HTTP stand-in here; the end-to-end test against the
// real OpenCost and Prometheus is separate work (issue 6).
package cost

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

func TestCostEndToEnd(t *testing.T) {
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(503)
			fmt.Fprint(w, "down")
			return
		}
		win := strings.Split(r.URL.Query().Get("window"), ",")
		fmt.Fprintf(w, `{"code":200,"data":[{"itc":{"name":"itc","properties":{"namespace":"itc"},"window":{"start":%q,"end":%q},"start":%q,"end":%q,"cpuCost":3,"totalCost":3}}]}`, win[0], win[1], win[0], win[1])
	}))
	defer srv.Close()
	opts := env.Options
	opts.Cost.OpenCostURL = srv.URL
	env.StopManager()
	if err := env.StartManager(opts); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "itc"}, Spec: tenancyv1.TenantSpec{Namespaces: []tenancyv1.TenantNamespace{{Name: "itc-a"}}}}
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) error { return env.Client.Create(ctx, tn.DeepCopy()) })
	cond := func(tn *tenancyv1.Tenant, typ string) *metav1.Condition {
		for i := range tn.Status.Conditions {
			if tn.Status.Conditions[i].Type == typ {
				return &tn.Status.Conditions[i]
			}
		}
		return nil
	}
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		got := &tenancyv1.Tenant{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "itc"}, got); err != nil {
			return err
		}
		if got.Status.Cost == nil || got.Status.Cost.MonthToDate != "3.00" {
			return fmt.Errorf("status.cost = %+v, want monthToDate 3.00", got.Status.Cost)
		}
		if c := cond(got, "CostAvailable"); c == nil || c.Status != metav1.ConditionTrue || cond(got, "Ready") == nil {
			return fmt.Errorf("conditions %+v", got.Status.Conditions)
		}
		statusManagers := map[string]bool{}
		for _, mf := range got.ManagedFields {
			if mf.Subresource == "status" && mf.Operation == metav1.ManagedFieldsOperationApply {
				statusManagers[mf.Manager] = true
			}
		}
		if !statusManagers["canopy-cost"] || !statusManagers["canopy-tenant"] {
			return fmt.Errorf("status apply managers = %v, want canopy-cost and canopy-tenant side by side", statusManagers)
		}
		return nil
	})
	fail.Store(true)
	got := &tenancyv1.Tenant{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "itc"}, got); err != nil {
		t.Fatal(err)
	}
	got.Spec.CostCenter = "cc-1"
	if err := env.Client.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, func(ctx context.Context) error {
		got := &tenancyv1.Tenant{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "itc"}, got); err != nil {
			return err
		}
		c := cond(got, "CostAvailable")
		if c == nil || c.Status != "False" {
			return fmt.Errorf("CostAvailable %+v", c)
		}
		if got.Status.Cost == nil || got.Status.Cost.MonthToDate != "3.00" || cond(got, "Ready") == nil {
			return fmt.Errorf("lost fields: %+v", got.Status)
		}
		t.Logf("after failure: %+v", got.Status)
		return nil
	})
}
