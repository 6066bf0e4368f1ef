package dashboard

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/grafana"
)

// Defaults of Config.
const (
	DefaultResync                = 10 * time.Minute
	DefaultTeardownTimeout       = 10 * time.Minute
	DefaultDatasourceURLTemplate = "http://canopy-prometheus-proxy.canopy-system.svc:9095/tenants/{{tenant}}"
	// TenantPlaceholder is replaced by the tenant's name in
	// Config.DatasourceURLTemplate.
	TenantPlaceholder = "{{tenant}}"
)

// Keys of the credentials Secret.
const (
	SecretKeyToken    = "token"
	SecretKeyUsername = "username"
	SecretKeyPassword = "password"
	SecretKeyCA       = "ca.crt"
)

// Config says where Grafana is and how the controller behaves.
type Config struct {
	// URL is Grafana's address as the manager reaches it.
	URL string
	// PublicURL is Grafana's address as users reach it, for
	// status.dashboardURL; empty means URL.
	PublicURL string
	// CredentialsSecret holds a service-account token (key "token") or
	// basic auth ("username" and "password"), and optionally a CA bundle
	// ("ca.crt").
	CredentialsSecret types.NamespacedName
	// OrgID, when set, is one organization shared by every tenant. A
	// service-account token needs it: tokens are bound to one organization.
	OrgID int64
	// InsecureSkipVerify disables TLS verification; for tests only.
	InsecureSkipVerify bool
	// Resync is how often a Tenant is synced again to revert drift.
	Resync time.Duration
	// TeardownTimeout is how long deletion waits for an unreachable
	// Grafana before giving up on teardown.
	TeardownTimeout time.Duration
	// DatasourceURLTemplate is the tenant's Prometheus datasource URL, with
	// TenantPlaceholder replaced by the tenant's name.
	DatasourceURLTemplate string
	// DatasourceToken, when set, gives the bearer token each tenant's
	// datasource sends to that URL (promproxy.Token under the manager's
	// key, bound to the Tenant object's UID); nil sends none.
	DatasourceToken func(tenant string, uid types.UID) string
}

// Validate checks the configuration for mistakes a user can fix.
func (c Config) Validate() error {
	if _, err := parseHTTPURL(c.URL); err != nil {
		return fmt.Errorf("--grafana-url: %w", err)
	}
	if c.PublicURL != "" {
		if _, err := parseHTTPURL(c.PublicURL); err != nil {
			return fmt.Errorf("--grafana-public-url: %w", err)
		}
	}
	if c.CredentialsSecret.Namespace == "" || c.CredentialsSecret.Name == "" {
		return fmt.Errorf("--grafana-credentials-secret: want namespace/name, got %q", c.CredentialsSecret.String())
	}
	if c.OrgID < 0 {
		return fmt.Errorf("--grafana-org-id: %d is negative", c.OrgID)
	}
	if _, err := parseHTTPURL(c.datasourceURL("example")); err != nil {
		return fmt.Errorf("--tenant-datasource-url-template: %w", err)
	}
	return nil
}

// ParseSecretRef parses "namespace/name".
func ParseSecretRef(s string) (types.NamespacedName, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return types.NamespacedName{}, fmt.Errorf("want namespace/name, got %q", s)
	}
	return types.NamespacedName{Namespace: ns, Name: name}, nil
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q: want http(s)://host[/path]", s)
	}
	return u, nil
}

func (c Config) datasourceURL(tenant string) string {
	t := c.DatasourceURLTemplate
	if t == "" {
		t = DefaultDatasourceURLTemplate
	}
	return strings.ReplaceAll(t, TenantPlaceholder, url.PathEscape(tenant))
}

func (c Config) publicURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	return c.URL
}

func (c Config) resync() time.Duration {
	if c.Resync > 0 {
		return c.Resync
	}
	return DefaultResync
}

func (c Config) teardownTimeout() time.Duration {
	if c.TeardownTimeout > 0 {
		return c.TeardownTimeout
	}
	return DefaultTeardownTimeout
}

// ConfigError is a problem with the credentials or options that only a
// user can fix; it is reported as DashboardsReady=False/ConfigInvalid.
type ConfigError struct{ msg string }

func (e *ConfigError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &ConfigError{msg: fmt.Sprintf(format, args...)}
}

// grafanaConfig reads the credentials Secret and builds the client config.
// A missing Secret or missing keys are ConfigErrors.
func (c Config) grafanaConfig(ctx context.Context, r client.Reader) (grafana.Config, error) {
	s := &corev1.Secret{}
	if err := r.Get(ctx, c.CredentialsSecret, s); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return grafana.Config{}, configErrorf("Grafana credentials Secret %s not found", c.CredentialsSecret)
		}
		return grafana.Config{}, fmt.Errorf("reading Grafana credentials Secret %s: %w", c.CredentialsSecret, err)
	}
	gc := grafana.Config{
		URL:                c.URL,
		Token:              strings.TrimSpace(string(s.Data[SecretKeyToken])),
		Username:           string(s.Data[SecretKeyUsername]),
		Password:           string(s.Data[SecretKeyPassword]),
		CAData:             s.Data[SecretKeyCA],
		InsecureSkipVerify: c.InsecureSkipVerify,
	}
	switch {
	case gc.Token != "" && gc.Username != "":
		return grafana.Config{}, configErrorf("Grafana credentials Secret %s: set %q or %q and %q, not both", c.CredentialsSecret, SecretKeyToken, SecretKeyUsername, SecretKeyPassword)
	case gc.Token == "" && gc.Username == "":
		return grafana.Config{}, configErrorf("Grafana credentials Secret %s: no %q and no %q", c.CredentialsSecret, SecretKeyToken, SecretKeyUsername)
	case gc.Token != "" && c.OrgID == 0:
		return grafana.Config{}, configErrorf("Grafana credentials Secret %s holds a service-account token, which is bound to one organization and cannot create one per tenant: set --grafana-org-id, or use %q and %q of a Grafana server admin", c.CredentialsSecret, SecretKeyUsername, SecretKeyPassword)
	}
	return gc, nil
}

// clientCache reuses one Grafana client while the credentials stay the
// same, so connections are pooled, and builds a new one when the Secret
// is rotated.
type clientCache struct {
	mu     sync.Mutex
	key    [sha256.Size]byte
	client grafana.Client
}

func (cc *clientCache) get(cfg grafana.Config, build func(grafana.Config) (grafana.Client, error)) (grafana.Client, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %q %t", cfg.URL, cfg.Token, cfg.Username, cfg.Password, cfg.CAData, cfg.InsecureSkipVerify)
	var key [sha256.Size]byte
	copy(key[:], h.Sum(nil))
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.client != nil && key == cc.key {
		return cc.client, nil
	}
	if build == nil {
		build = func(cfg grafana.Config) (grafana.Client, error) { return grafana.NewOpenAPIClient(cfg) }
	}
	c, err := build(cfg)
	if err != nil {
		return nil, &ConfigError{msg: fmt.Sprintf("building Grafana client: %v", err)}
	}
	cc.key, cc.client = key, c
	return c, nil
}
