package setup

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	costctrl "github.com/canopyhq/canopy/internal/controller/cost"
	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/costapi"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/metrics"
)

func init() { registrations = append(registrations, registerCostAPI) }

// CostAPIOptions configure the aggregated API cost.canopy.dev, served on
// every replica when --opencost-url is set.
type CostAPIOptions struct {
	// BindAddress is host:port; empty or "0" disables the API.
	BindAddress string
	// CertDir holds tls.crt and tls.key; empty means the self-managed
	// certificate, else the webhook's directory.
	CertDir string
	// MaxConcurrent and MaxConcurrentPerUser bound the chargebacks one
	// replica computes at once, in total and per user (429 beyond); zero
	// means costapi's defaults.
	MaxConcurrent, MaxConcurrentPerUser int
}

func (o *CostAPIOptions) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.BindAddress, "cost-api-bind-address", ":8443", "Address the aggregated API cost.canopy.dev binds to (with --opencost-url); 0 disables it.")
	fs.StringVar(&o.CertDir, "cost-api-cert-dir", o.CertDir, "Directory holding tls.crt and tls.key for the cost API (default: the self-managed certificate, else --webhook-cert-dir).")
	fs.IntVar(&o.MaxConcurrent, "cost-api-max-concurrent", costapi.DefaultMaxConcurrent, "Chargebacks one replica computes at once; more are refused with 429.")
	fs.IntVar(&o.MaxConcurrentPerUser, "cost-api-max-concurrent-per-user", costapi.DefaultMaxConcurrentPerUser, "Chargebacks one user may have in progress on one replica at once; more are refused with 429.")
}

// certDir is where the API's serving certificate is: its own directory,
// else the webhook server's, else controller-runtime's default for it.
func (o CostAPIOptions) certDir(webhookCertDir string) string {
	switch {
	case o.CertDir != "":
		return o.CertDir
	case webhookCertDir != "":
		return webhookCertDir
	default:
		return filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs")
	}
}

// tenantDirectory builds the attribution view from the cached Tenants and
// the forest, exactly as the cost controller does.
type tenantDirectory struct {
	reader client.Reader
	forest *forest.Forest
}

func (t tenantDirectory) Directory(ctx context.Context) (cost.Directory, error) {
	var list tenancyv1.TenantList
	if err := t.reader.List(ctx, &list); err != nil {
		return cost.Directory{}, fmt.Errorf("listing tenants: %w", err)
	}
	return costctrl.BuildDirectory(t.forest, list.Items), nil
}

// registerCostAPI serves cost.canopy.dev on every replica when
// --opencost-url is set and the API is not disabled.
func registerCostAPI(mgr ctrl.Manager, d Deps) error {
	o := d.Options.Cost
	if !d.Options.costAPIOn() {
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
	oc := metrics.CountOpenCostErrors(hc, metrics.OpenCostAPI)
	cs, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("creating the cost API's client: %w", err)
	}
	auth, err := costapi.NewDelegatingAuth(cs)
	if err != nil {
		return err
	}
	log := mgr.GetLogger().WithName("costapi")
	srv := &costapi.Server{
		Addr:    o.API.BindAddress,
		CertDir: o.API.certDir(d.Options.WebhookCertDir),
		Auth:    auth,
		Log:     log,
		Handler: &costapi.Handler{
			Authenticator: auth.Authenticator,
			Authorizer:    auth.Authorizer,
			Source:        tenantDirectory{reader: mgr.GetCache(), forest: d.Forest},
			OpenCost:      oc,
			Fleet:         fleetCostSource(mgr, d),
			Rollup:        cfg.Rollup,
			Currency:      cfg.Currency,
			Loaded:        d.Sync.Loaded,
			Log:           log,

			MaxConcurrent:        o.API.MaxConcurrent,
			MaxConcurrentPerUser: o.API.MaxConcurrentPerUser,
		},
	}
	if d.Certs != nil && o.API.CertDir == "" {
		srv.GetCertificate = d.Certs.Source.GetCertificate
	}
	if err := mgr.Add(srv); err != nil {
		return fmt.Errorf("adding the cost API server: %w", err)
	}
	return nil
}
