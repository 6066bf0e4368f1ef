package setup

import (
	"flag"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/metrics"
	whquota "github.com/canopyhq/canopy/internal/webhook/quota"
)

func init() { registrations = append(registrations, registerQuota) }

// QuotaOptions tune hierarchical quota enforcement.
type QuotaOptions struct {
	// Resync is how often the leader reconciles each tree with a quota
	// without an event.
	Resync time.Duration
	// LedgerGCInterval is how often ledgers of trees that no longer exist
	// (a root moved under another tree, or deleted) are removed.
	LedgerGCInterval time.Duration
	// Workers is how many trees the leader reconciles at once.
	Workers int
}

func (o *QuotaOptions) bindFlags(fs *flag.FlagSet) {
	fs.DurationVar(&o.Resync, "quota-resync-period", ctrlquota.DefaultResync, "How often each tree with a hierarchical quota is reconciled without an event.")
	fs.IntVar(&o.Workers, "quota-workers", ctrlquota.DefaultWorkers, "How many trees' quotas the leader reconciles at once; one tree is never reconciled twice at once.")
	fs.DurationVar(&o.LedgerGCInterval, "quota-ledger-gc-period", ctrlquota.DefaultLedgerGCInterval, "How often the quota ledgers of trees that no longer exist are deleted.")
}

// registerQuota wires the quota reconciler (leader only), the quota
// webhooks (every replica) and the quota metrics.
func registerQuota(mgr ctrl.Manager, d Deps) error {
	// An informer over the ledger ConfigMaps alone, so that admission
	// reads the ledger without a round trip (a stale read only makes the
	// write conflict) and the manager's cache does not hold every
	// ConfigMap of the cluster.
	ledgerCache, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:            mgr.GetScheme(),
		Mapper:            mgr.GetRESTMapper(),
		DefaultNamespaces: map[string]cache.Config{d.Options.Forest.ManagerNamespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}: {Label: labels.SelectorFromSet(labels.Set{ctrlquota.LabelLedger: "true"})},
		},
	})
	if err != nil {
		return fmt.Errorf("creating the quota ledger cache: %w", err)
	}
	if err := mgr.Add(everyReplica{ledgerCache}); err != nil {
		return fmt.Errorf("adding the quota ledger cache: %w", err)
	}
	caches := &quotaCaches{main: mgr.GetCache(), ledgers: ledgerCache}
	if err := mgr.Add(caches); err != nil {
		return fmt.Errorf("adding the quota caches: %w", err)
	}
	if err := mgr.AddReadyzCheck("quota-caches", caches.ReadyCheck); err != nil {
		return fmt.Errorf("adding the quota caches' readiness check: %w", err)
	}
	ledgers := ctrlquota.LedgerStore{
		Client:    mgr.GetClient(),
		Reader:    mgr.GetAPIReader(),
		Cache:     ledgerCache,
		Namespace: d.Options.Forest.ManagerNamespace,
		Decoded:   &ctrlquota.DecodeCache{},
	}
	r := &ctrlquota.Reconciler{
		Client:  mgr.GetClient(),
		Forest:  d.Forest,
		Ledgers: ledgers,
		Resync:  d.Options.Quota.Resync,
		Workers: d.Options.Quota.Workers,
	}
	var loaded func() bool
	if d.Sync != nil {
		r.Subscribe = d.Sync.Subscribe
		loaded = d.Sync.Loaded
		r.Loaded = loaded
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the quota reconciler: %w", err)
	}
	if err := mgr.Add(&ctrlquota.LedgerCollector{
		Client:    mgr.GetClient(),
		Reader:    mgr.GetAPIReader(),
		Namespace: d.Options.Forest.ManagerNamespace,
		Forest:    d.Forest,
		Loaded:    loaded,
		Interval:  d.Options.Quota.LedgerGCInterval,
	}); err != nil {
		return fmt.Errorf("adding the quota ledger collector: %w", err)
	}
	// Pods are watched, not cached: the leader only needs to see them go.
	podsCfg := rest.CopyConfig(mgr.GetConfig())
	podsCfg.ContentType = runtime.ContentTypeProtobuf
	podsCfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	pods, err := kubernetes.NewForConfig(podsCfg)
	if err != nil {
		return fmt.Errorf("creating the pod client of the quota replenisher: %w", err)
	}
	replenisher := &ctrlquota.Replenisher{
		Client:     mgr.GetClient(),
		Pods:       ctrlquota.ListWatchPods{Lister: pods.CoreV1().Pods(metav1.NamespaceAll)},
		Singletons: ctrlquota.ListWatchSingletons{Lister: pods.CoreV1().ResourceQuotas(metav1.NamespaceAll)},
		Elected:    mgr.Elected(),
	}
	if err := mgr.Add(replenisher); err != nil {
		return fmt.Errorf("adding the quota replenisher: %w", err)
	}
	status, err := whquota.Register(mgr, whquota.Config{Forest: d.Forest, Ledgers: ledgers, Loaded: loaded, Releases: replenisher})
	if err != nil {
		return err
	}
	d.QuotaMoves.Judge = status.JudgeMove
	if err := metrics.RegisterQuota(mgr.GetClient()); err != nil {
		return fmt.Errorf("registering quota metrics: %w", err)
	}
	return nil
}
