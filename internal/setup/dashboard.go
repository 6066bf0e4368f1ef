package setup

import (
	"flag"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	dashboardctrl "github.com/canopyhq/canopy/internal/controller/dashboard"
	"github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/internal/promproxy"
)

func init() { registrations = append(registrations, registerDashboard) }

// DashboardOptions configure the Grafana dashboard controller. An empty
// GrafanaURL disables it.
type DashboardOptions struct {
	// GrafanaURL is Grafana's address as the manager reaches it; empty
	// disables the integration.
	GrafanaURL string
	// CredentialsSecret is "namespace/name" of a Secret holding "token", or
	// "username" and "password", and optionally "ca.crt". It is read at
	// every reconcile, so rotation needs no restart.
	CredentialsSecret string
	// PublicURL is Grafana's address as users reach it; empty means
	// GrafanaURL.
	PublicURL string
	// OrgID is one organization shared by every tenant; zero means an
	// organization per tenant (needs basic auth of a server admin).
	OrgID int64
	// InsecureSkipVerify disables TLS verification; for tests only.
	InsecureSkipVerify bool
	// Resync is how often each Tenant is synced to revert drift; zero
	// means ten minutes.
	Resync time.Duration
	// TeardownTimeout is how long a deletion waits for Grafana before
	// giving up on teardown; zero means ten minutes.
	TeardownTimeout time.Duration
	// DatasourceURLTemplate is each tenant's Prometheus URL, {{tenant}}
	// replaced; empty means the default (the manager's tenant Prometheus
	// proxy behind a Service canopy-prometheus-proxy).
	DatasourceURLTemplate string

	// NewClient replaces the Grafana client, for tests; nil means the
	// OpenAPI client.
	NewClient func(grafana.Config) (grafana.Client, error)
}

func (o *DashboardOptions) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.GrafanaURL, "grafana-url", o.GrafanaURL, "Grafana's address as the manager reaches it; empty disables the dashboard controller.")
	fs.StringVar(&o.CredentialsSecret, "grafana-credentials-secret", o.CredentialsSecret, "namespace/name of a Secret in the manager's namespace (the only one whose Secrets the manager may read) with 'token', or 'username' and 'password', and optionally 'ca.crt', for Grafana.")
	fs.StringVar(&o.PublicURL, "grafana-public-url", o.PublicURL, "Grafana's address as users reach it, for Tenant status (default: --grafana-url).")
	fs.Int64Var(&o.OrgID, "grafana-org-id", o.OrgID, "One Grafana organization shared by every tenant (required with a service-account token); 0 gives each tenant its own.")
	fs.BoolVar(&o.InsecureSkipVerify, "grafana-insecure-skip-verify", o.InsecureSkipVerify, "Skip TLS verification of Grafana's certificate (tests only).")
	resync := o.Resync
	if resync == 0 {
		resync = dashboardctrl.DefaultResync
	}
	fs.DurationVar(&o.Resync, "dashboard-resync", resync, "How often each Tenant's Grafana space is checked for drift.")
	tmpl := o.DatasourceURLTemplate
	if tmpl == "" {
		tmpl = dashboardctrl.DefaultDatasourceURLTemplate
	}
	fs.StringVar(&o.DatasourceURLTemplate, "tenant-datasource-url-template", tmpl,
		"Each tenant's Prometheus datasource URL; {{tenant}} is replaced by the tenant's name. It should be a label-enforcing proxy confining queries to the tenant's namespaces.")
}

func (o DashboardOptions) config() (dashboardctrl.Config, error) {
	ref, err := dashboardctrl.ParseSecretRef(o.CredentialsSecret)
	if err != nil {
		return dashboardctrl.Config{}, fmt.Errorf("--grafana-credentials-secret: %w", err)
	}
	c := dashboardctrl.Config{
		URL:                   o.GrafanaURL,
		PublicURL:             o.PublicURL,
		CredentialsSecret:     ref,
		OrgID:                 o.OrgID,
		InsecureSkipVerify:    o.InsecureSkipVerify,
		Resync:                o.Resync,
		TeardownTimeout:       o.TeardownTimeout,
		DatasourceURLTemplate: o.DatasourceURLTemplate,
	}
	return c, c.Validate()
}

// registerDashboard wires the Grafana dashboard controller (leader only).
// Without --grafana-url nothing talks to Grafana; only a releaser runs,
// removing the Grafana finalizer from Tenants being deleted, which an
// earlier, configured manager may have left.
func registerDashboard(mgr ctrl.Manager, d Deps) error {
	o := d.Options.Dashboard
	recorder := mgr.GetEventRecorder("canopy-dashboard")
	if o.GrafanaURL == "" {
		if err := (&dashboardctrl.Releaser{Client: mgr.GetClient(), Recorder: recorder}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the Grafana finalizer releaser: %w", err)
		}
		return nil
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	key, err := d.Options.PromProxy.key()
	if err != nil {
		return err
	}
	if key != nil {
		cfg.DatasourceToken = func(tenant string, uid types.UID) string { return promproxy.Token(key, tenant, uid) }
	}
	r := &dashboardctrl.Reconciler{
		Client:    mgr.GetClient(),
		Reader:    mgr.GetAPIReader(),
		CRDReader: mgr.GetAPIReader(),
		Forest:    d.Forest,
		Recorder:  recorder,
		Config:    cfg,
		NewClient: o.NewClient,
	}
	if d.Sync != nil {
		r.Subscribe = d.Sync.Subscribe
		r.Loaded = d.Sync.Loaded
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the dashboard reconciler: %w", err)
	}
	return nil
}
