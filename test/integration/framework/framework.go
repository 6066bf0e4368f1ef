// Package framework runs Canopy's integration tests against a real control
// plane (etcd, kube-apiserver, kube-controller-manager) with Canopy's
// manager wired exactly as main wires it, webhooks served over TLS.
//
// Each integration package starts one Env in TestMain and shares it; tests
// isolate themselves by namespace names.
package framework

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// Env is a running control plane plus a running Canopy manager.
type Env struct {
	CP *controlplane.ControlPlane
	// Client is an uncached admin client.
	Client client.Client
	// Options the manager was started with; tests may copy and change them
	// to start more replicas.
	Options setup.Options
	// ManagerConfig, when set, is what managers started from now on
	// authenticate with (InstalledManagerConfig); the admin's otherwise.
	ManagerConfig *rest.Config

	stopManager func()
}

// RepoRoot returns the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Start brings up the control plane and the manager.
func Start() (*Env, error) {
	if os.Getenv("CANOPY_TEST_VERBOSE") != "" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr)))
	} else {
		ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	}
	root := RepoRoot()
	cpOpts := controlplane.Options{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		WebhookPaths:      []string{filepath.Join(root, "config", "webhook")},
	}
	if dir := os.Getenv("CANOPY_TEST_AUDIT_DIR"); dir != "" {
		args, err := auditArgs(dir)
		if err != nil {
			return nil, err
		}
		cpOpts.APIServerArgs = args
	}
	cp, err := controlplane.Start(cpOpts)
	if err != nil {
		return nil, err
	}
	c, err := client.New(cp.Config, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		_ = cp.Stop()
		return nil, fmt.Errorf("creating admin client: %w", err)
	}
	// What every installation has beside the CRDs and webhooks: the
	// manager's namespace (quota ledgers live there) and HNC's verbs
	// aggregated into admin and view.
	ctx := context.Background()
	if err := controlplane.EnsureNamespace(ctx, c, setup.DefaultOptions().Forest.ManagerNamespace); err != nil {
		_ = cp.Stop()
		return nil, err
	}
	if err := controlplane.InstallFiles(ctx, c, filepath.Join(root, "config", "rbac", "hnc_aggregated_roles.yaml")); err != nil {
		_ = cp.Stop()
		return nil, err
	}
	host, port, certDir := cp.WebhookServing()
	opts := setup.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0"
	opts.WebhookHost, opts.WebhookPort, opts.WebhookCertDir = host, port, certDir
	opts.QPS, opts.Burst = 200, 400
	opts.SkipControllerNameValidation = true
	// Tests watch stale quota ledgers go within seconds, not a minute.
	opts.Quota.LedgerGCInterval = 2 * time.Second
	e := &Env{CP: cp, Client: c, Options: opts}
	if err := e.StartManager(opts); err != nil {
		_ = cp.Stop()
		return nil, err
	}
	return e, nil
}

// StartManager starts the manager with opts and waits until it is ready:
// its webhook server answers TLS, its cache has synced and its readyz
// passes (the forest has loaded, so no webhook answers "Canopy is
// starting"). Without a probe address it gets one on a free loopback port.
func (e *Env) StartManager(opts setup.Options) error {
	if opts.ProbeAddr == "" || opts.ProbeAddr == "0" {
		port, err := controlplane.FreePort()
		if err != nil {
			return err
		}
		opts.ProbeAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	stop, err := e.StartReplica(opts)
	if err != nil {
		return err
	}
	e.stopManager = stop
	return nil
}

// StopManager stops the running manager and waits for it to exit.
func (e *Env) StopManager() {
	if e.stopManager == nil {
		return
	}
	e.stopManager()
	e.stopManager = nil
}

// Stop stops the manager and the control plane.
func (e *Env) Stop() error {
	e.StopManager()
	return e.CP.Stop()
}

// UserClient returns a client authenticating as a real user with its own
// client certificate.
func (e *Env) UserClient(name string, groups ...string) (client.Client, *rest.Config, error) {
	cfg, err := e.CP.AddUser(name, groups...)
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		return nil, nil, fmt.Errorf("creating client for %q: %w", name, err)
	}
	return c, cfg, nil
}

// Eventually polls check until it returns nil, failing the test with the
// last error after timeout.
func Eventually(t testing.TB, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	_ = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		last = check(ctx)
		return last == nil, nil
	})
	if last != nil {
		t.Fatalf("condition not met after %v: %v", timeout, last)
	}
}

// Main is the body of an integration package's TestMain.
func Main(m *testing.M, env **Env) {
	e, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the integration environment:", err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the integration environment:", err)
	}
	os.Exit(code)
}
