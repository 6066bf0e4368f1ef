package setup

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/certs"
	"github.com/canopyhq/canopy/internal/costapi"
)

// CertOptions configure the serving certificates the manager issues and
// rotates itself (internal/certs), the default. An explicit
// --webhook-cert-dir turns it off: the certificates are then files that
// cert-manager (or you) keep, as before.
type CertOptions struct {
	SelfManaged bool
	// Secret (in the manager's namespace) holds the CA and serving pair.
	Secret string
	// WebhookService and CostAPIService name the Services the certificate
	// must be valid for.
	WebhookService, CostAPIService string
	// ServerCertDuration, Lookahead and CheckInterval: see certs.Options
	// (tests shorten them; zero means a year, 90 days, 12 hours).
	ServerCertDuration, Lookahead, CheckInterval time.Duration
}

func (o *CertOptions) bindFlags(fs *flag.FlagSet) {
	fs.BoolVar(&o.SelfManaged, "self-managed-certs", o.SelfManaged, "Issue and rotate the webhook and cost API serving certificates in the Secret --cert-secret and inject their CA into canopy-validating, canopy-mutating and the cost APIService. Off, or with an explicit --webhook-cert-dir, the certificates are read from files (cert-manager or your own).")
	fs.StringVar(&o.Secret, "cert-secret", o.Secret, "Secret in the manager's namespace that holds the self-managed CA and serving certificate (created if missing).")
	fs.StringVar(&o.WebhookService, "webhook-service", o.WebhookService, "Service of the webhooks, in the manager's namespace; the self-managed certificate names it.")
	fs.StringVar(&o.CostAPIService, "cost-api-service", o.CostAPIService, "Service of the cost API, in the manager's namespace; the self-managed certificate names it.")
}

// selfManagedCerts reports whether the manager issues its own certificates.
func (o Options) selfManagedCerts() bool { return o.Certs.SelfManaged && o.WebhookCertDir == "" }

// costAPIOn reports whether the aggregated cost API is served.
func (o Options) costAPIOn() bool {
	return o.Cost.OpenCostURL != "" && o.Cost.API.BindAddress != "" && o.Cost.API.BindAddress != "0"
}

// rotatorNames numbers the rotator's controller when one process builds
// several managers (tests), whose controller names must differ.
var rotatorNames atomic.Int64

// newCertRotation returns the rotation, nil when certificates are files.
func newCertRotation(cfg *rest.Config, opts Options) (*certs.Rotation, error) {
	if !opts.selfManagedCerts() {
		return nil, nil
	}
	ns, c := opts.Forest.ManagerNamespace, opts.Certs
	o := certs.Options{
		Secret: types.NamespacedName{Namespace: ns, Name: c.Secret},
		DNSNames: []string{
			c.WebhookService + "." + ns + ".svc",
			c.WebhookService + "." + ns + ".svc.cluster.local",
			c.CostAPIService + "." + ns + ".svc",
		},
		ControllerName:     "canopy-cert-rotator",
		ServerCertDuration: c.ServerCertDuration,
		Lookahead:          c.Lookahead,
		CheckInterval:      c.CheckInterval,
	}
	if opts.SkipControllerNameValidation {
		o.ControllerName += "-" + strconv.FormatInt(rotatorNames.Add(1), 10)
	}
	if opts.costAPIOn() && opts.Cost.API.CertDir == "" {
		o.APIService = costapi.Version + "." + costapi.Group
	}
	r, err := certs.New(cfg, o)
	if err != nil {
		return nil, fmt.Errorf("self-managed certificates: %w", err)
	}
	return r, nil
}

// tlsOpts make a server serve the rotation's certificate; none for files.
func tlsOpts(r *certs.Rotation) []func(*tls.Config) {
	if r == nil {
		return nil
	}
	return []func(*tls.Config){func(c *tls.Config) { c.GetCertificate = r.Source.GetCertificate }}
}

// addCertRotation adds the rotator, if any, to mgr.
func addCertRotation(mgr ctrl.Manager, r *certs.Rotation) error {
	if r == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.Add(ctx, mgr)
}
