package quota

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/metrics"
)

// Config is what the webhooks share.
type Config struct {
	Forest  *forest.Forest
	Ledgers ctrlquota.LedgerStore
	// Loaded reports whether the forest has loaded; nil means always.
	Loaded func() bool
	// Releases, if set, releases departed pods' charges early (StatusHandler).
	Releases Releaser
}

// Register serves the quota webhooks on the manager's webhook server. The
// status handler it returns also judges moves (JudgeMove).
func Register(mgr ctrl.Manager, cfg Config) (*StatusHandler, error) {
	dec := admission.NewDecoder(mgr.GetScheme())
	srv := mgr.GetWebhookServer()
	denials := &ctrlquota.DenialStore{Client: cfg.Ledgers.Client, Reader: cfg.Ledgers.Reader, Namespace: cfg.Ledgers.Namespace}
	if err := mgr.Add(denials); err != nil {
		return nil, fmt.Errorf("adding the shared quota denials: %w", err)
	}
	feed := &ctrlquota.SingletonFeed{}
	inf, err := mgr.GetCache().GetInformer(context.Background(), &corev1.ResourceQuota{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("watching quota singletons: %w", err)
	}
	reg, err := inf.AddEventHandler(feed.Handler())
	if err != nil {
		return nil, fmt.Errorf("watching quota singletons: %w", err)
	}
	feed.SetSynced(reg.HasSynced)
	covers := &Covers{}
	for _, obj := range []client.Object{&hncv1.HierarchicalResourceQuota{}, &tenancyv1.HierarchicalQuota{}} {
		inf, err := mgr.GetCache().GetInformer(context.Background(), obj, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, fmt.Errorf("watching quotas for the grant check: %w", err)
		}
		if _, err := inf.AddEventHandler(covers.Handler()); err != nil {
			return nil, fmt.Errorf("watching quotas for the grant check: %w", err)
		}
	}
	status := &StatusHandler{
		Forest: cfg.Forest, Cache: mgr.GetClient(), Live: mgr.GetAPIReader(), Mapper: mgr.GetRESTMapper(),
		Snapshots: &ctrlquota.SnapshotCache{}, Feed: feed,
		Trees: &ctrlquota.TreeCache{}, Covers: covers,
		Ledgers: cfg.Ledgers, Loaded: cfg.Loaded, Decoder: dec,
		Admissions: &ctrlquota.Admissions{},
		Denials:    denials,
		Releases:   cfg.Releases,
	}
	srv.Register(StatusPath, &FastStatus{Handler: status,
		Full: &webhook.Admission{Handler: metrics.CountWebhookErrors(StatusPath, status)}})
	srv.Register(SingletonPath, &webhook.Admission{Handler: &SingletonHandler{
		Client: mgr.GetClient(), Cache: mgr.GetClient(), Decoder: dec,
	}})
	srv.Register(HQPath, &webhook.Admission{Handler: &HQHandler{
		Forest: cfg.Forest, Cache: mgr.GetClient(), Loaded: cfg.Loaded, Decoder: dec,
	}})
	srv.Register(HRQPath, &webhook.Admission{Handler: &HRQHandler{Decoder: dec}})
	return status, nil
}
