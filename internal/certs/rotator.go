package certs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Options configure the rotation.
type Options struct {
	// Secret holds the CA and the serving pair; it is created if missing.
	Secret types.NamespacedName
	// DNSNames the serving certificate is valid for; the first is the one
	// the rotator checks (the webhook Service's).
	DNSNames []string
	// APIService, when set, also gets the CA (the cost API's).
	APIService string
	// ControllerName of the rotator's controller; unique per process.
	ControllerName string
	// ServerCertDuration, Lookahead (renew when a certificate expires
	// within it) and CheckInterval: zero means cert-controller's defaults
	// (one year, 90 days, 12 hours). Tests shorten them.
	ServerCertDuration, Lookahead, CheckInterval time.Duration
}

// Rotation is cert-controller's rotator and the Source serving its
// certificate.
type Rotation struct {
	Source *Source
	opts   Options
	client kubernetes.Interface
	// injected is closed by cert-controller once its certificate is on
	// disk (Source wrote it) and the CA is in every webhook configuration
	// and the APIService.
	injected chan struct{}
}

// New prepares the rotation. It exists before the manager so that the
// webhook server can be built with Source.GetCertificate; Add wires it in.
func New(cfg *rest.Config, o Options) (*Rotation, error) {
	if len(o.DNSNames) == 0 {
		return nil, errors.New("the serving certificate needs at least one DNS name")
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the certificate rotator's client: %w", err)
	}
	markDir, err := os.MkdirTemp("", "canopy-serving-cert-")
	if err != nil {
		return nil, fmt.Errorf("creating the rotator's certificate directory: %w", err)
	}
	return &Rotation{
		Source:   NewSource(cs, o.Secret, markDir, logr.Discard()),
		opts:     o,
		client:   cs,
		injected: make(chan struct{}),
	}, nil
}

// Add ensures the Secret exists, then adds cert-controller's rotator and
// the Source to mgr, with a readiness check "serving-cert" that passes once
// a certificate is served and the CA has been injected.
func (r *Rotation) Add(ctx context.Context, mgr manager.Manager) error {
	o := r.opts
	if err := EnsureSecret(ctx, r.client, o.Secret); err != nil {
		return err
	}
	r.Source.log = mgr.GetLogger().WithName("certs")
	hooks := []rotator.WebhookInfo{
		{Name: ValidatingName, Type: rotator.Validating},
		{Name: MutatingName, Type: rotator.Mutating},
	}
	if o.APIService != "" {
		hooks = append(hooks, rotator.WebhookInfo{Name: o.APIService, Type: rotator.APIService})
	}
	cr := &rotator.CertRotator{
		SecretKey:      o.Secret,
		CertDir:        r.Source.markDir,
		CAName:         "canopy-ca",
		CAOrganization: "canopy",
		DNSName:        o.DNSNames[0],
		ExtraDNSNames:  o.DNSNames[1:],
		IsReady:        r.injected,
		Webhooks:       hooks,
		FieldOwner:     "canopy-cert-rotator",
		// Every replica serves, so every replica must become ready: each
		// runs the rotator. Concurrent renewals are settled by the
		// Secret's resourceVersion (one update wins, the others re-read).
		RequireLeaderElection:  false,
		EnableReadinessCheck:   true,
		ControllerName:         o.ControllerName,
		ServerCertDuration:     o.ServerCertDuration,
		LookaheadInterval:      o.Lookahead,
		RotationCheckFrequency: o.CheckInterval,
	}
	if err := rotator.AddRotator(mgr, cr); err != nil {
		return fmt.Errorf("adding the certificate rotator: %w", err)
	}
	if err := mgr.Add(r.Source); err != nil {
		return fmt.Errorf("adding the serving-certificate watch: %w", err)
	}
	if err := mgr.AddReadyzCheck("serving-cert", r.Checker); err != nil {
		return fmt.Errorf("adding the serving-certificate readiness check: %w", err)
	}
	return nil
}

// Checker is a readiness check: a certificate is served and the CA has
// been injected.
func (r *Rotation) Checker(*http.Request) error {
	if err := r.Source.Serving(); err != nil {
		return err
	}
	select {
	case <-r.injected:
		return nil
	default:
		return errors.New("the CA is not yet injected into the webhook configurations")
	}
}

// EnsureSecret creates the empty Secret the rotator fills, if missing.
func EnsureSecret(ctx context.Context, cs kubernetes.Interface, key types.NamespacedName) error {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Name: key.Name, Namespace: key.Namespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "canopy"},
	}}
	_, err := cs.CoreV1().Secrets(key.Namespace).Create(ctx, sec, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the serving-certificate Secret %s: %w", key, err)
	}
	return nil
}
