// Package grafana runs a real Grafana 10.0 server, built from the Go module
// proxy by `make grafana-bin` (test/tools/build-grafana.sh), for Canopy's
// e2e tests and demo.
//
// Start listens on 127.0.0.1 only, keeps its database in a temporary
// directory, turns analytics, update checks, Gravatar and the news feed off
// (nothing calls out), and waits until /api/health answers.
package grafana

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// CacheSubdir is the directory of the build under the binary cache.
const CacheSubdir = "grafana-10.0"

// Paths returns the Grafana binary and its home path: GRAFANA_BIN and
// GRAFANA_HOME, else the cache `make grafana-bin` fills. A missing build
// is an error naming the Make target, never a reason to skip.
func Paths() (bin, home string, err error) {
	bin, home = os.Getenv("GRAFANA_BIN"), os.Getenv("GRAFANA_HOME")
	if bin == "" || home == "" {
		cache, err := controlplane.CacheDir()
		if err != nil {
			return "", "", err
		}
		dir := filepath.Join(cache, CacheSubdir)
		if bin == "" {
			bin = filepath.Join(dir, "grafana")
		}
		if home == "" {
			home = filepath.Join(dir, "home")
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return "", "", fmt.Errorf("grafana binary missing (run `make grafana-bin`): %w", err)
	}
	if _, err := os.Stat(filepath.Join(home, "conf", "defaults.ini")); err != nil {
		return "", "", fmt.Errorf("grafana home path incomplete (run `make grafana-bin`): %w", err)
	}
	return bin, home, nil
}

// Options configure Start.
type Options struct {
	// Port on 127.0.0.1; a free one when zero.
	Port int
	// DataDir holds the database; a temporary directory, removed at stop,
	// when empty.
	DataDir string
	// AdminPassword of the "admin" user; random when empty.
	AdminPassword string
	// Env adds GF_* settings.
	Env []string
	// Output receives Grafana's log; nil keeps only its tail for errors.
	Output io.Writer
	// ReadyTimeout bounds the wait for /api/health; 90s when zero.
	ReadyTimeout time.Duration
}

// Server is a running Grafana.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234.
	URL           string
	AdminUser     string
	AdminPassword string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	tail *tailBuffer
}

// Start runs Grafana and waits until it is healthy. stop ends it and
// removes a temporary data directory; it is safe to call twice.
func Start(ctx context.Context, opts Options) (*Server, func(), error) {
	bin, home, err := Paths()
	if err != nil {
		return nil, nil, err
	}
	port := opts.Port
	if port == 0 {
		if port, err = controlplane.FreePort(); err != nil {
			return nil, nil, fmt.Errorf("finding a free port for Grafana: %w", err)
		}
	}
	dataDir, tempData := opts.DataDir, false
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "canopy-grafana-*"); err != nil {
			return nil, nil, fmt.Errorf("creating Grafana's data directory: %w", err)
		}
		tempData = true
	}
	for _, sub := range []string{"data", "logs", "plugins", "provisioning"} {
		if err := os.MkdirAll(filepath.Join(dataDir, sub), 0o755); err != nil {
			return nil, nil, fmt.Errorf("creating %s: %w", sub, err)
		}
	}
	password := opts.AdminPassword
	if password == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		password = hex.EncodeToString(b)
	}
	env := append(os.Environ(),
		"GF_SERVER_HTTP_ADDR=127.0.0.1",
		"GF_SERVER_HTTP_PORT="+strconv.Itoa(port),
		"GF_SERVER_ROOT_URL=http://127.0.0.1:"+strconv.Itoa(port)+"/",
		"GF_PATHS_DATA="+filepath.Join(dataDir, "data"),
		"GF_PATHS_LOGS="+filepath.Join(dataDir, "logs"),
		"GF_PATHS_PLUGINS="+filepath.Join(dataDir, "plugins"),
		"GF_PATHS_PROVISIONING="+filepath.Join(dataDir, "provisioning"),
		"GF_SECURITY_ADMIN_USER=admin",
		"GF_SECURITY_ADMIN_PASSWORD="+password,
		"GF_SECURITY_DISABLE_GRAVATAR=true",
		"GF_ANALYTICS_REPORTING_ENABLED=false",
		"GF_ANALYTICS_CHECK_FOR_UPDATES=false",
		"GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES=false",
		"GF_ANALYTICS_FEEDBACK_LINKS_ENABLED=false",
		"GF_NEWS_NEWS_FEED_ENABLED=false",
		"GF_PLUGINS_PLUGIN_ADMIN_ENABLED=false",
		"GF_SNAPSHOTS_EXTERNAL_ENABLED=false",
		"GF_USERS_ALLOW_SIGN_UP=false",
		"GF_ALERTING_ENABLED=false",
		"GF_UNIFIED_ALERTING_ENABLED=false",
		"GF_LOG_MODE=console",
		"GF_LOG_LEVEL=warn",
	)
	env = append(env, opts.Env...)
	cmd := exec.CommandContext(ctx, bin, "server", "--homepath", home)
	cmd.Dir = dataDir
	cmd.Env = env
	tail := &tailBuffer{}
	var w io.Writer = tail
	if opts.Output != nil {
		w = io.MultiWriter(opts.Output, tail)
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s := &Server{
		URL:       "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		AdminUser: "admin", AdminPassword: password,
		cmd: cmd, done: make(chan struct{}), tail: tail,
	}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			select {
			case <-s.done:
			default:
				_ = cmd.Process.Signal(os.Interrupt)
				select {
				case <-s.done:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-s.done
				}
			}
			if tempData {
				_ = os.RemoveAll(dataDir)
			}
		})
	}
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	if err := s.waitHealthy(ctx, timeout); err != nil {
		stop()
		return nil, nil, fmt.Errorf("%w\ngrafana output (tail):\n%s", err, tail.String())
	}
	return s, stop, nil
}

func (s *Server) waitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		if healthy(ctx, c, s.URL+"/api/health") {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("grafana exited before it was healthy: %v", s.err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for grafana at %s: %w", s.URL, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("grafana at %s not healthy after %s", s.URL, timeout)
		}
	}
}

func healthy(ctx context.Context, c *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct {
		Database string `json:"database"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&h) == nil && h.Database == "ok"
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Log returns the tail of Grafana's output, for failure messages.
func (s *Server) Log() string { return s.tail.String() }

// CreateUser creates a user through the admin API and returns its id.
func (s *Server) CreateUser(ctx context.Context, login, email, password string) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	body := map[string]string{"name": login, "login": login, "email": email, "password": password}
	if err := s.Admin(ctx, http.MethodPost, "/api/admin/users", body, &out); err != nil {
		return 0, fmt.Errorf("creating Grafana user %q: %w", login, err)
	}
	return out.ID, nil
}

// Admin calls the API as the admin user, encoding body and decoding the
// answer into out (either may be nil). A status other than 2xx is an error
// carrying the answer.
func (s *Server) Admin(ctx context.Context, method, path string, body, out any) error {
	return Call(ctx, s.URL, s.AdminUser, s.AdminPassword, 0, method, path, body, out)
}

// Call calls a Grafana API as a user with basic auth, in organization
// orgID when it is not zero.
func Call(ctx context.Context, baseURL, user, password string, orgID int64, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request body: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, baseURL+path, r)
	if err != nil {
		return err
	}
	req.SetBasicAuth(user, password)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if orgID != 0 {
		req.Header.Set("X-Grafana-Org-Id", strconv.FormatInt(orgID, 10))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Code: resp.StatusCode, Body: string(b), Method: method, Path: path}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding %q: %w", method, path, b, err)
		}
	}
	return nil
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code         int
	Method, Path string
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Code, e.Body)
}

// HTTPStatus returns the status of a StatusError in err's chain, or 0.
func HTTPStatus(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// tailBuffer keeps the last 16 KiB written.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if n := len(t.b); n > 16<<10 {
		t.b = append([]byte(nil), t.b[n-16<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
