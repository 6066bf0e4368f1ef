// Package setup wires Canopy's manager: the scheme, the controller-runtime
// manager with its probes, metrics and webhook server, and every controller
// and webhook. main and the integration tests share it, so the tests run
// exactly what ships.
package setup

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ciav1 "sigs.k8s.io/cluster-inventory-api/apis/v1alpha1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/certs"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/forestsync"
	hcwebhook "github.com/canopyhq/canopy/internal/webhook/hierarchy"
	"github.com/canopyhq/canopy/internal/webhook/namespaces"
)

// NewScheme returns a scheme with every kind Canopy reads or writes.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(hncv1.AddToScheme(s))
	utilruntime.Must(tenancyv1.AddToScheme(s))
	utilruntime.Must(ciav1.AddToScheme(s))
	return s
}

// NewManager builds the manager with every controller and webhook
// registered. The caller starts it.
func NewManager(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	leNS := opts.LeaderElectionNamespace
	if leNS == "" {
		leNS = opts.Forest.ManagerNamespace
	}
	syncPeriod := opts.SyncPeriod
	rotation, err := newCertRotation(cfg, opts)
	if err != nil {
		return nil, err
	}
	mo := ctrl.Options{
		Scheme:                  NewScheme(),
		Logger:                  QuietConflicts(ctrl.Log),
		Controller:              config.Controller{SkipNameValidation: &opts.SkipControllerNameValidation},
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.ProbeAddr,
		PprofBindAddress:        opts.PprofAddr,
		LeaderElection:          opts.LeaderElection,
		LeaderElectionID:        opts.LeaderElectionID,
		LeaderElectionNamespace: leNS,
		// Release the lease on a clean shutdown so a standby takes over
		// at once; safe because main exits right after the manager stops.
		LeaderElectionReleaseOnCancel: true,
		// Managed fields are never read from the cache and are most of a
		// small object's size; an update without them keeps the stored
		// ones.
		Cache: cache.Options{SyncPeriod: &syncPeriod, DefaultTransform: cache.TransformStripManagedFields()},
		WebhookServer: countingWebhookServer{webhook.NewServer(webhook.Options{
			Host:    opts.WebhookHost,
			Port:    opts.WebhookPort,
			CertDir: opts.WebhookCertDir,
			TLSOpts: tlsOpts(rotation),
		})},
	}
	if err := opts.Lease.applyLease(cfg, &mo); err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return nil, fmt.Errorf("adding readiness check: %w", err)
	}

	if err := addCertRotation(mgr, rotation); err != nil {
		return nil, err
	}
	deps, err := newDeps(opts)
	if err != nil {
		return nil, err
	}
	deps.Certs = rotation
	if deps.Self, err = newSelfIdentity(mgr.GetConfig()); err != nil {
		return nil, err
	}
	namespaces.Register(mgr, deps.Forest)
	for _, register := range registrations {
		if err := register(mgr, deps); err != nil {
			return nil, err
		}
	}
	return mgr, nil
}

// Deps are what the controllers and webhooks share: one forest per process,
// filled on every replica.
type Deps struct {
	Options Options
	Forest  *forest.Forest
	// Sync fills Forest on every replica; Subscribe to it (or watch its
	// Source) to be told which namespaces changed.
	Sync *forestsync.Syncer
	// Certs serves the self-managed certificate; nil when it is files.
	Certs *certs.Rotation
	// Self is the manager's own identity, which webhooks allow anything.
	Self *selfIdentity
	// QuotaMoves is the quota check of moves: the quota webhooks fill it,
	// the hierarchy validator asks it.
	QuotaMoves *hcwebhook.QuotaMoves
}

func newDeps(opts Options) (Deps, error) {
	cfg, err := opts.Forest.Compile()
	if err != nil {
		return Deps{}, err
	}
	f := forest.NewWithConfig(cfg)
	return Deps{Options: opts, Forest: f, Sync: forestsync.New(f), QuotaMoves: &hcwebhook.QuotaMoves{}}, nil
}

// registrations are the per-domain wiring functions, each in its own file
// of this package (hierarchy.go, propagation.go, quota.go, ...), so domains
// are added without touching this one.
var registrations []func(ctrl.Manager, Deps) error
