package opencost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// Client reads namespace allocations from OpenCost.
type Client interface {
	// Allocations reads the window in daily steps, calling visit once per
	// step in order. The Step passed to visit is reused afterwards. Errors
	// from OpenCost are *UnavailableError, *BadStatusError or
	// *MalformedError; an error from visit is returned wrapped.
	Allocations(ctx context.Context, w period.Window, visit func(*Step) error) (Response, error)
}

// Defaults for HTTPClient.
const (
	DefaultTimeout  = 2 * time.Minute
	maxErrorExcerpt = 512
	stepDuration    = 24 * time.Hour
)

// HTTPClient is the Client over OpenCost's HTTP API.
type HTTPClient struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
}

var _ Client = (*HTTPClient)(nil)

// Option configures an HTTPClient.
type Option func(*HTTPClient)

// WithHTTPClient sets the underlying HTTP client (for TLS or a transport).
func WithHTTPClient(c *http.Client) Option { return func(h *HTTPClient) { h.http = c } }

// WithTimeout bounds one whole request, body included. Zero means no bound
// beyond the caller's context.
func WithTimeout(d time.Duration) Option { return func(h *HTTPClient) { h.timeout = d } }

// NewHTTPClient returns a client for the OpenCost API at baseURL, e.g.
// http://opencost.opencost:9003.
func NewHTTPClient(baseURL string, opts ...Option) (*HTTPClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing opencost URL %q: %w", baseURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("opencost URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	h := &HTTPClient{base: u, http: http.DefaultClient, timeout: DefaultTimeout}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// AllocationURL is the request Allocations sends for w.
func (h *HTTPClient) AllocationURL(w period.Window) string {
	u := *h.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/allocation"
	q := url.Values{}
	q.Set("window", w.String())
	q.Set("aggregate", "namespace")
	q.Set("step", "1d")
	q.Set("includeIdle", "true")
	q.Set("resolution", "1m")
	u.RawQuery = q.Encode()
	return u.String()
}

// Allocations implements Client.
func (h *HTTPClient) Allocations(ctx context.Context, w period.Window, visit func(*Step) error) (Response, error) {
	if err := w.Validate(); err != nil {
		return Response{}, fmt.Errorf("reading allocations: %w", err)
	}
	if h.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout)
		defer cancel()
	}
	target := h.AllocationURL(w)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Response{}, fmt.Errorf("building opencost request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := h.http.Do(req)
	if err != nil {
		return Response{}, &UnavailableError{URL: target, Err: err}
	}
	defer func() { _ = res.Body.Close() }()

	if res.StatusCode < 200 || res.StatusCode > 299 {
		b, err := io.ReadAll(io.LimitReader(res.Body, maxErrorExcerpt+1))
		if err != nil && ctx.Err() != nil {
			return Response{}, &UnavailableError{URL: target, Err: ctx.Err()}
		}
		return Response{}, &BadStatusError{URL: target, Code: res.StatusCode, Excerpt: excerpt(b, maxErrorExcerpt)}
	}

	body := &recordingReader{r: res.Body}
	resp, err := Decode(body, period.Steps(w, stepDuration), visit)
	if err == nil {
		return resp, nil
	}
	// A deadline, cancellation or dropped connection shows up mid-body as a
	// read error, which the decoder would call malformed: it is
	// unavailability.
	var m *MalformedError
	if errors.As(err, &m) {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return resp, &UnavailableError{URL: target, Err: fmt.Errorf("reading body: %w", ctxErr)}
		}
		if body.err != nil {
			return resp, &UnavailableError{URL: target, Err: fmt.Errorf("reading body: %w", body.err)}
		}
	}
	var bad *BadStatusError
	if errors.As(err, &bad) {
		bad.URL = target
	}
	return resp, err
}

// recordingReader remembers the first read error other than io.EOF.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}
