package setup

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	ctrl "sigs.k8s.io/controller-runtime"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	costctrl "github.com/canopyhq/canopy/internal/controller/cost"
	"github.com/canopyhq/canopy/internal/cost"
)

// costUntouchableManager panics on any use: its embedded Manager is nil.
type costUntouchableManager struct{ ctrl.Manager }

func TestCostDisabledWithoutURL(t *testing.T) {
	o := DefaultOptions()
	o.BindFlags(flag.NewFlagSet("t", flag.ContinueOnError)) // flag defaults, URL empty
	if err := registerCost(costUntouchableManager{}, Deps{Options: o}); err != nil {
		t.Fatalf("registerCost without a URL: %v", err)
	}
	if crmetrics.Registry.Unregister(&costctrl.Collector{}) {
		t.Error("the cost collector was registered although cost reporting is disabled")
	}
}

func TestCostFlags(t *testing.T) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse([]string{
		"--opencost-url=http://opencost.opencost:9003", "--cost-interval=10m",
		"--cost-idle-policy=weighted", "--cost-shared-policy=even",
		"--cost-shared-namespace=kube-system", "--cost-shared-namespace=monitoring", "--cost-currency=EUR",
	}); err != nil {
		t.Fatal(err)
	}
	got, err := o.Cost.config()
	if err != nil {
		t.Fatal(err)
	}
	want := costctrl.Config{Interval: 10 * time.Minute, Currency: "EUR", Rollup: cost.Options{
		Idle: cost.Weighted, Shared: cost.Even, SharedNamespaces: []string{"kube-system", "monitoring"}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}

	defaults := DefaultOptions()
	defaults.BindFlags(flag.NewFlagSet("t", flag.ContinueOnError))
	got, err = defaults.Cost.config()
	if err != nil {
		t.Fatal(err)
	}
	want = costctrl.Config{Interval: time.Hour, Currency: "USD", Rollup: cost.Options{Idle: cost.Separate, Shared: cost.Separate}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("default config (-want +got):\n%s", d)
	}
}

func TestCostRejectsUnknownPolicy(t *testing.T) {
	o := DefaultOptions()
	o.Cost = CostOptions{OpenCostURL: "http://opencost:9003", IdlePolicy: "proportional"}
	err := registerCost(costUntouchableManager{}, Deps{Options: o})
	if err == nil || !strings.Contains(err.Error(), `unknown idle policy "proportional"`) {
		t.Errorf("registerCost = %v, want an unknown idle policy error", err)
	}
}
