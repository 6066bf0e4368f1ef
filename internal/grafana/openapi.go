package grafana

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	goapi "github.com/grafana/grafana-openapi-client-go/client"
)

// Config says how to reach Grafana. Set Token, or Username and Password.
type Config struct {
	// URL is Grafana's base address, such as "https://grafana.example.com"
	// or "http://grafana.monitoring/grafana" behind a sub-path.
	URL string
	// Token is a service-account token. It is bound to one organization, so
	// it suits only a Provisioner with a SharedOrgID.
	Token string
	// Username and Password are basic auth, needed for an organization per
	// tenant: creating organizations takes a Grafana server admin.
	Username, Password string
	// CAData is a PEM bundle to trust instead of the system roots.
	CAData []byte
	// InsecureSkipVerify disables certificate checks; for tests only.
	InsecureSkipVerify bool
	// Timeout bounds each request; zero means 30 seconds.
	Timeout time.Duration
}

// OpenAPIClient implements Client over grafana-openapi-client-go.
type OpenAPIClient struct {
	api  *goapi.GrafanaHTTPAPI
	auth runtime.ClientAuthInfoWriter
}

var _ Client = (*OpenAPIClient)(nil)

// NewOpenAPIClient builds a client. It makes no request.
func NewOpenAPIClient(cfg Config) (*OpenAPIClient, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing Grafana URL %q: %w", cfg.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("grafana URL %q: want http(s)://host[/path]", cfg.URL)
	}
	var auth runtime.ClientAuthInfoWriter
	switch {
	case cfg.Token != "" && cfg.Username != "":
		return nil, fmt.Errorf("grafana credentials: set a token or a username, not both")
	case cfg.Token != "":
		auth = httptransport.BearerToken(cfg.Token)
	case cfg.Username != "":
		auth = httptransport.BasicAuth(cfg.Username, cfg.Password)
	default:
		return nil, fmt.Errorf("grafana credentials: no token and no username")
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in, for tests
	if len(cfg.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAData) {
			return nil, fmt.Errorf("grafana CA data: no PEM certificate found")
		}
		tlsConfig.RootCAs = pool
	}
	// A transport of our own: the library's constructor would set the TLS
	// config on http.DefaultTransport, shared by the whole process.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	httpClient := &http.Client{Transport: transport, Timeout: timeout}

	basePath := strings.TrimSuffix(u.Path, "/") + goapi.DefaultBasePath
	rt := httptransport.NewWithClient(u.Host, basePath, []string{u.Scheme}, httpClient)
	rt.DefaultAuthentication = auth
	// Decode numbers as float64, as encoding/json does everywhere else, so
	// dashboard models compare equal with the built ones.
	rt.Consumers[runtime.JSONMime] = runtime.ConsumerFunc(func(r io.Reader, v any) error {
		return json.NewDecoder(r).Decode(v)
	})
	tc := goapi.DefaultTransportConfig().WithHost(u.Host).WithBasePath(basePath).WithSchemes([]string{u.Scheme})
	return &OpenAPIClient{api: goapi.New(rt, tc, strfmt.Default), auth: auth}, nil
}

// inOrg scopes one request to an organization through the
// X-Grafana-Org-Id header, leaving the shared client untouched, so one
// client serves every tenant concurrently.
func (c *OpenAPIClient) inOrg(orgID int64) func(*runtime.ClientOperation) {
	return func(op *runtime.ClientOperation) {
		op.AuthInfo = httptransport.Compose(c.auth, runtime.ClientAuthInfoWriterFunc(
			func(r runtime.ClientRequest, _ strfmt.Registry) error {
				return r.SetHeaderParam(goapi.OrgIDHeader, strconv.FormatInt(orgID, 10))
			}))
	}
}

// apiError turns a 404 into ErrNotFound and adds context to every error.
func apiError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	var coded interface{ IsCode(int) bool }
	if errors.As(err, &coded) && coded.IsCode(http.StatusNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }
