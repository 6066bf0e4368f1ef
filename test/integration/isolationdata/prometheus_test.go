package isolationdata

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/tools/prometheus"
)

// prometheusBin is Debian's Prometheus package.
const prometheusBin = "/usr/bin/prometheus"

// stack is a real Prometheus holding backfilled history, and the manager
// restarted with the tenant Prometheus proxy in front of it.
type stack struct {
	prometheus string // Prometheus's URL
	proxy      string // the proxy's URL
	key        []byte
	// historyFrom and historyTo bound the backfilled samples.
	historyFrom, historyTo time.Time
}

// historyNamespace is the namespace the backfilled series belong to: a
// namespace of a tenant that existed before the tests started.
const historyNamespace = "reuse-ns"

var (
	stackOnce sync.Once
	theStack  *stack
	stackErr  error
)

// proxyStack starts Prometheus and restarts the manager with the proxy on,
// once per package run.
func proxyStack(t *testing.T) *stack {
	t.Helper()
	if _, err := os.Stat(prometheusBin); err != nil {
		t.Fatalf("Prometheus is required for these tests: %v", err)
	}
	stackOnce.Do(func() { theStack, stackErr = startStack() })
	if stackErr != nil {
		t.Fatal(stackErr)
	}
	return theStack
}

// backfill is an hour of iso_secret{namespace="reuse-ns"} ending ten minutes
// ago, one sample a minute: what a since-deleted namespace of that name
// left in Prometheus.
func backfill(to time.Time) []byte {
	var b strings.Builder
	b.WriteString("# TYPE iso_secret gauge\n")
	for m := 60; m >= 0; m-- {
		ts := to.Add(-time.Duration(m) * time.Minute)
		fmt.Fprintf(&b, "iso_secret{namespace=%q,owner=\"previous-tenant\"} 42 %d\n", historyNamespace, ts.Unix())
	}
	b.WriteString("# EOF\n")
	return []byte(b.String())
}

func startStack() (*stack, error) {
	dir, err := os.MkdirTemp("", "canopy-prometheus-")
	if err != nil {
		return nil, err
	}
	stopAtExit = append(stopAtExit, func() { _ = os.RemoveAll(dir) })
	ctx := context.Background()
	to := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	if err := prometheus.Backfill(ctx, dir, backfill(to)); err != nil {
		return nil, err
	}
	srv, stop, err := prometheus.Start(ctx, prometheus.Options{DataDir: dir, ScrapeInterval: time.Second})
	if err != nil {
		return nil, err
	}
	stopAtExit = append([]func(){stop}, stopAtExit...)
	s := &stack{prometheus: srv.URL, key: []byte("isolation-test-key-0123456789abcdef"),
		historyFrom: to.Add(-60 * time.Minute), historyTo: to}
	proxyAddr, err := freeAddrErr()
	if err != nil {
		return nil, err
	}
	s.proxy = "http://" + proxyAddr
	opts := managerOptions()
	opts.PromProxy = setup.PromProxyOptions{Addr: proxyAddr, PrometheusURL: s.prometheus, Key: s.key}
	setManagerOptions(opts)
	if err := restartManager(); err != nil {
		return nil, err
	}
	return s, nil
}

// query reads path (with its query string) through the proxy as tenant
// with token.
func (s *stack) get(ctx context.Context, tenant, pathAndQuery, token string) (int, string, error) {
	return httpGet(ctx, s.proxy+"/tenants/"+tenant+pathAndQuery, token)
}
