// Package prometheus runs Debian's real Prometheus (2.42, `apt-get install
// prometheus`) for Canopy's e2e tests and demo: Backfill writes historical
// samples into a data directory with promtool, and Start serves that
// directory on a free loopback port, scraping the given targets.
//
// Backfilled samples make cost results deterministic: the series a test
// queries all exist before Prometheus starts, so every expected figure is a
// hand computation.
package prometheus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Binaries Debian's package installs; PROMETHEUS_BIN and PROMTOOL_BIN
// override them.
const (
	defaultPrometheus = "/usr/bin/prometheus"
	defaultPromtool   = "/usr/bin/promtool"
)

func binary(env, def string) (string, error) {
	p := os.Getenv(env)
	if p == "" {
		p = def
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s missing (apt-get install prometheus, or set %s): %w", p, env, err)
	}
	return p, nil
}

// Backfill turns OpenMetrics text (which must end with "# EOF") into TSDB
// blocks inside dataDir, with `promtool tsdb create-blocks-from openmetrics`.
// Run it before Start on the same directory. Samples older than the
// retention Start sets are dropped by Prometheus.
func Backfill(ctx context.Context, dataDir string, openMetrics []byte) error {
	promtool, err := binary("PROMTOOL_BIN", defaultPromtool)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("creating data dir %s: %w", dataDir, err)
	}
	f, err := os.CreateTemp("", "canopy-backfill-*.om")
	if err != nil {
		return fmt.Errorf("creating backfill input: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(openMetrics); err != nil {
		f.Close()
		return fmt.Errorf("writing backfill input: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing backfill input: %w", err)
	}
	out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", f.Name(), dataDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("promtool tsdb create-blocks-from openmetrics into %s: %w\n%s", dataDir, err, out)
	}
	return nil
}

// Options configure Start.
type Options struct {
	// DataDir is the TSDB directory (backfilled or empty); required.
	DataDir string
	// ConfigYAML is a complete prometheus.yml. When empty, one is generated
	// from ScrapeTargets and ScrapeInterval.
	ConfigYAML string
	// ScrapeTargets are host:port addresses scraped at /metrics, one job
	// each, named by its index ("target-0", ...), unless JobNames names them.
	ScrapeTargets []string
	// JobNames optionally names the jobs of ScrapeTargets, index for index.
	JobNames []string
	// ScrapeInterval of the generated config; 5s when zero.
	ScrapeInterval time.Duration
	// HonorLabels keeps the targets' own job and instance labels in the
	// generated config, as for a target that exports other components'
	// series (OpenCost, kube-state-metrics).
	HonorLabels bool
	// Port to listen on, on 127.0.0.1; a free one when zero. Set it when
	// the address must be known before Prometheus starts.
	Port int
	// Retention is --storage.tsdb.retention.time; 3650d when zero, so
	// backfilled blocks from days ago are never deleted at start.
	Retention string
	// LookbackDelta is --query.lookback-delta; Prometheus' 5m when zero.
	LookbackDelta time.Duration
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
	// Output receives Prometheus' log; nil discards it.
	Output io.Writer
	// ReadyTimeout bounds the wait for /-/ready; 60s when zero.
	ReadyTimeout time.Duration
}

// Server is a running Prometheus.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:39123.
	URL string
	// Addr is host:port.
	Addr string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs Prometheus on a free 127.0.0.1 port and waits until /-/ready
// answers. stop ends the process (it is also ended when ctx is done).
func Start(ctx context.Context, opts Options) (*Server, func(), error) {
	bin, err := binary("PROMETHEUS_BIN", defaultPrometheus)
	if err != nil {
		return nil, nil, err
	}
	if opts.DataDir == "" {
		return nil, nil, errors.New("prometheus.Options.DataDir is required")
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating data dir %s: %w", opts.DataDir, err)
	}
	cfg := opts.ConfigYAML
	if cfg == "" {
		cfg = GenerateConfig(opts.ScrapeTargets, opts.JobNames, opts.ScrapeInterval, opts.HonorLabels)
	}
	cfgPath := filepath.Join(opts.DataDir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, nil, fmt.Errorf("writing %s: %w", cfgPath, err)
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, nil, fmt.Errorf("finding a free port for Prometheus: %w", err)
		}
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	retention := opts.Retention
	if retention == "" {
		retention = "3650d"
	}
	args := []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + opts.DataDir,
		"--storage.tsdb.retention.time=" + retention,
		"--web.listen-address=" + addr,
		"--web.enable-lifecycle",
		"--log.level=warn",
	}
	if opts.LookbackDelta > 0 {
		args = append(args, "--query.lookback-delta="+opts.LookbackDelta.String())
	}
	args = append(args, opts.ExtraArgs...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = opts.DataDir
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	var tail tailBuffer
	// One writer for both streams, so exec copies them in one goroutine.
	w := io.MultiWriter(out, &tail)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, Addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	stop := func() {
		select {
		case <-s.done:
			return
		default:
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-s.done
		}
	}
	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := s.waitReady(ctx, timeout); err != nil {
		stop()
		return nil, nil, fmt.Errorf("%w\nprometheus output:\n%s", err, tail.String())
	}
	return s, stop, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if err != nil {
			return err
		}
		if resp, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited before it was ready: %v", s.err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for prometheus at %s: %w", s.URL, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus at %s not ready after %s", s.URL, timeout)
		}
	}
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// GenerateConfig returns a prometheus.yml scraping each target's /metrics.
func GenerateConfig(targets, jobNames []string, interval time.Duration, honorLabels bool) string {
	if interval == 0 {
		interval = 5 * time.Second
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n", interval, interval)
	for i, t := range targets {
		job := "target-" + strconv.Itoa(i)
		if i < len(jobNames) && jobNames[i] != "" {
			job = jobNames[i]
		}
		fmt.Fprintf(&b, "  - job_name: %q\n", job)
		if honorLabels {
			b.WriteString("    honor_labels: true\n")
		}
		fmt.Fprintf(&b, "    static_configs:\n      - targets: [%q]\n", t)
	}
	return b.String()
}

// Query runs an instant PromQL query and returns the raw JSON answer, for
// tests checking what Prometheus holds.
func (s *Server) Query(ctx context.Context, promql string, at time.Time) ([]byte, error) {
	u := s.URL + "/api/v1/query?" + url.Values{"query": {promql}, "time": {strconv.FormatInt(at.Unix(), 10)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("querying prometheus %q: %w", promql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading prometheus answer to %q: %w", promql, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("prometheus answered %s to %q: %s", resp.Status, promql, body)
	}
	return body, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last 8 KiB written, for error messages.
type tailBuffer struct{ b bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if t.b.Len() > 8<<10 {
		rest := t.b.Bytes()[t.b.Len()-8<<10:]
		t.b = *bytes.NewBuffer(append([]byte(nil), rest...))
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.b.String() }
