package setup

import (
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	costctrl "github.com/canopyhq/canopy/internal/controller/cost"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/metrics"
)

func init() { registrations = append(registrations, registerCost) }

// CostOptions configure the cost controller. An empty OpenCostURL disables
// it entirely: nothing is registered.
type CostOptions struct {
	// OpenCostURL is OpenCost's API, e.g. http://opencost.opencost:9003.
	OpenCostURL string
	// Interval between reads of OpenCost.
	Interval time.Duration
	// IdlePolicy and SharedPolicy are separate, weighted or even.
	IdlePolicy   string
	SharedPolicy string
	// SharedNamespaces serve every tenant (kube-system, monitoring).
	SharedNamespaces []string
	// Currency OpenCost reports in.
	Currency string
	// API is the aggregated API cost.canopy.dev (costapi.go).
	API CostAPIOptions
	// Export is the scheduled chargeback export (costexport.go).
	Export CostExportOptions
}

func (o *CostOptions) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.OpenCostURL, "opencost-url", o.OpenCostURL, "OpenCost's API, e.g. http://opencost.opencost:9003; empty disables cost reporting.")
	fs.DurationVar(&o.Interval, "cost-interval", costctrl.DefaultInterval, "How often OpenCost is read for tenant cost.")
	fs.StringVar(&o.IdlePolicy, "cost-idle-policy", string(cost.Separate), "Idle cost: separate (its own line), weighted (spread by tenant cost) or even.")
	fs.StringVar(&o.SharedPolicy, "cost-shared-policy", string(cost.Separate), "Cost of shared namespaces: separate, weighted or even.")
	fs.Var(stringList{&o.SharedNamespaces}, "cost-shared-namespace", "A namespace whose cost is shared by all tenants (repeatable).")
	fs.StringVar(&o.Currency, "cost-currency", costctrl.DefaultCurrency, "Currency OpenCost reports in.")
	o.API.bindFlags(fs)
	o.Export.bindFlags(fs)
}

// config compiles the options for the controller.
func (o CostOptions) config() (costctrl.Config, error) {
	cfg := costctrl.Config{
		Interval: o.Interval,
		Currency: o.Currency,
		Rollup: cost.Options{
			Idle:             cost.Policy(o.IdlePolicy),
			Shared:           cost.Policy(o.SharedPolicy),
			SharedNamespaces: o.SharedNamespaces,
		},
	}
	if cfg.Rollup.Idle == "" {
		cfg.Rollup.Idle = cost.Separate
	}
	if cfg.Rollup.Shared == "" {
		cfg.Rollup.Shared = cost.Separate
	}
	if err := cfg.Rollup.Validate(); err != nil {
		return costctrl.Config{}, fmt.Errorf("--cost-idle-policy/--cost-shared-policy: %w", err)
	}
	return cfg, nil
}

// costCollector is registered once per process, and only once cost
// reporting is enabled; each manager points it at its own cache.
var (
	costCollector     = &costctrl.Collector{}
	costCollectorOnce sync.Once
	costCollectorErr  error
)

func registerCostCollector() error {
	costCollectorOnce.Do(func() {
		if err := crmetrics.Registry.Register(costCollector); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				costCollectorErr = fmt.Errorf("registering cost metrics: %w", err)
			}
		}
	})
	return costCollectorErr
}

// registerCost wires the cost reconciler (leader only) and its metrics,
// when --opencost-url is set.
func registerCost(mgr ctrl.Manager, d Deps) error {
	o := d.Options.Cost
	if o.OpenCostURL == "" {
		return nil
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	hc, err := opencost.NewHTTPClient(o.OpenCostURL)
	if err != nil {
		return fmt.Errorf("--opencost-url: %w", err)
	}
	oc := metrics.CountOpenCostErrors(hc, metrics.OpenCostController)
	if err := registerCostCollector(); err != nil {
		return err
	}
	costCollector.SetReader(mgr.GetCache())
	if err := (&costctrl.Reconciler{
		Client:    mgr.GetClient(),
		OpenCost:  oc,
		Forest:    d.Forest,
		Recorder:  mgr.GetEventRecorder(costctrl.FieldManager),
		Collector: costCollector,
		Config:    cfg,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up cost reconciler: %w", err)
	}
	return nil
}
