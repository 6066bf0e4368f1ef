package setup

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/canopyhq/canopy/internal/forest"
)

// Options configure the manager. main binds them to flags; the integration
// tests fill them directly.
type Options struct {
	MetricsAddr    string
	ProbeAddr      string
	LeaderElection bool
	// LeaderElectionNamespace defaults to the manager's namespace.
	LeaderElectionNamespace string
	LeaderElectionID        string
	Lease                   LeaseOptions

	WebhookHost    string
	WebhookPort    int
	WebhookCertDir string
	Certs          CertOptions

	// Forest holds the manager namespace, excluded namespaces, include
	// regex and managed-metadata regexes (HNC's flags of the same names).
	Forest forest.Options

	// QPS and Burst for the manager's API client (HNC's
	// --apiserver-qps-throttle). A negative QPS turns client-side rate
	// limiting off, the default: the manager's concurrency is already
	// bounded by its worker counts, and the API server protects itself
	// with API Priority and Fairness, which queues the manager's requests
	// fairly instead of a fixed client rate that throttles a large tree.
	QPS   float32
	Burst int

	// PprofAddr serves net/http/pprof when set; empty (the default)
	// serves nothing.
	PprofAddr string

	// SyncPeriod bounds how stale the informer caches may get.
	SyncPeriod time.Duration

	// Memory holds the Go heap under the container's memory limit; main
	// applies it (MemoryLimitOptions.LimitMemory), NewManager does not.
	Memory MemoryLimitOptions

	Quota       QuotaOptions
	Propagation PropagationOptions
	Tenant      TenantOptions
	Cost        CostOptions
	Dashboard   DashboardOptions
	PromProxy   PromProxyOptions
	Fleet       FleetOptions

	// SkipControllerNameValidation lets one process build several managers
	// (tests restart the manager and run replicas side by side).
	SkipControllerNameValidation bool
}

// DefaultOptions returns the options main starts from.
func DefaultOptions() Options {
	return Options{
		MetricsAddr:      ":8080",
		ProbeAddr:        ":8081",
		LeaderElectionID: "canopy-manager.tenancy.canopy.dev",
		Lease:            DefaultLeaseOptions(),
		WebhookPort:      9443,
		Forest:           forest.Options{ManagerNamespace: "canopy-system"},
		QPS:              -1,
		SyncPeriod:       10 * time.Hour,
		Memory:           MemoryLimitOptions{Ratio: DefaultMemoryLimitRatio},
		Certs: CertOptions{SelfManaged: true, Secret: "canopy-serving-cert",
			WebhookService: "canopy-webhook", CostAPIService: "canopy-cost-api"},
	}
}

type stringList struct{ v *[]string }

func (s stringList) String() string {
	if s.v == nil {
		return ""
	}
	return strings.Join(*s.v, ",")
}

func (s stringList) Set(v string) error {
	*s.v = append(*s.v, v)
	return nil
}

// BindFlags registers the options on fs.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, "Address the metrics endpoint binds to; 0 disables it.")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", o.ProbeAddr, "Address the health and readiness probes bind to.")
	fs.BoolVar(&o.LeaderElection, "leader-elect", o.LeaderElection, "Elect a leader so only one replica writes; every replica serves webhooks.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "Namespace of the leader-election lease (default: the manager's namespace).")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "Name of the leader-election lease.")
	fs.StringVar(&o.WebhookHost, "webhook-host", o.WebhookHost, "Address the webhook server binds to.")
	fs.IntVar(&o.WebhookPort, "webhook-port", o.WebhookPort, "Port the webhook server binds to.")
	fs.StringVar(&o.WebhookCertDir, "webhook-cert-dir", o.WebhookCertDir, "Directory holding tls.crt and tls.key for the webhook server; setting it turns --self-managed-certs off.")
	fs.StringVar(&o.Forest.ManagerNamespace, "manager-namespace", o.Forest.ManagerNamespace, "Namespace Canopy runs in; always excluded from hierarchies.")
	fs.Var(stringList{&o.Forest.ExcludedNamespaces}, "excluded-namespace", "A namespace that may not be part of any hierarchy (repeatable).")
	fs.StringVar(&o.Forest.IncludedNamespacesRegex, "included-namespace-regex", o.Forest.IncludedNamespacesRegex, "Only namespaces whose whole name matches this regex are managed.")
	fs.Var(stringList{&o.Forest.ManagedLabels}, "managed-namespace-label", "A regex of label keys that HierarchyConfigurations and anchors may set on namespaces (repeatable).")
	fs.Var(stringList{&o.Forest.ManagedAnnotations}, "managed-namespace-annotation", "A regex of annotation keys that HierarchyConfigurations and anchors may set on namespaces (repeatable).")
	fs.Func("apiserver-qps-throttle", "Client QPS towards the API server (burst is twice this); 0, the default, sets no client-side limit and leaves protecting the API server to API Priority and Fairness.", func(v string) error {
		var q float32
		if _, err := fmt.Sscanf(v, "%g", &q); err != nil || q < 0 {
			return fmt.Errorf("--apiserver-qps-throttle: %q is not a number of at least 0", v)
		}
		if q == 0 {
			o.QPS, o.Burst = -1, 0
			return nil
		}
		o.QPS, o.Burst = q, int(2*q)
		return nil
	})
	fs.StringVar(&o.PprofAddr, "pprof-bind-address", o.PprofAddr, "Address net/http/pprof binds to; empty (the default) serves no profiles.")
	o.Memory.bindFlags(fs)
	o.Certs.bindFlags(fs)
	o.Lease.bindFlags(fs)
	o.Quota.bindFlags(fs)
	o.Propagation.bindFlags(fs)
	o.Tenant.bindFlags(fs)
	o.Cost.bindFlags(fs)
	o.Dashboard.bindFlags(fs)
	o.PromProxy.bindFlags(fs)
	o.Fleet.bindFlags(fs)
}

// Validate checks the options for errors a user can fix.
func (o *Options) Validate() error {
	if o.Forest.ManagerNamespace == "" {
		return fmt.Errorf("--manager-namespace must not be empty")
	}
	if _, err := o.Forest.Compile(); err != nil {
		return err
	}
	return o.Memory.validate()
}
