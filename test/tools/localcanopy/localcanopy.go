// Package localcanopy starts Canopy on a local control plane the way the
// demo (test/tools/demo) and the HNC e2e driver (test/tools/hnce2e) both
// run it: etcd, kube-apiserver and kube-controller-manager with the
// repository's CRDs and webhooks, then bin/canopy-manager as a process.
package localcanopy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// Cluster is a running control plane with Canopy's CRDs and webhooks.
type Cluster struct {
	CP *controlplane.ControlPlane
	// Kubeconfig is an admin kubeconfig, dir/kubeconfig.
	Kubeconfig string
	// Log is dir/control-plane.log, the control plane's output.
	Log *os.File
}

// StartCluster starts the control plane with root's CRDs and webhooks,
// logging to dir/control-plane.log, writes dir/kubeconfig, and creates
// namespaces and HNC's aggregated roles. root and dir are absolute.
func StartCluster(ctx context.Context, root, dir string, namespaces ...string) (*Cluster, error) {
	log, err := os.Create(filepath.Join(dir, "control-plane.log"))
	if err != nil {
		return nil, err
	}
	fmt.Println("Starting etcd, kube-apiserver and kube-controller-manager ...")
	cp, err := controlplane.Start(controlplane.Options{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		WebhookPaths:      []string{filepath.Join(root, "config", "webhook")},
		Output:            log,
	})
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	c := &Cluster{CP: cp, Kubeconfig: filepath.Join(dir, "kubeconfig"), Log: log}
	if err := c.setUp(ctx, root, namespaces); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) setUp(ctx context.Context, root string, namespaces []string) error {
	if err := c.CP.WriteKubeconfig(c.Kubeconfig); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	admin, err := client.New(c.CP.Config, client.Options{})
	if err != nil {
		return err
	}
	for _, ns := range namespaces {
		if err := controlplane.EnsureNamespace(ctx, admin, ns); err != nil {
			return err
		}
	}
	return controlplane.InstallFiles(ctx, admin, filepath.Join(root, "config", "rbac", "hnc_aggregated_roles.yaml"))
}

// Stop stops the control plane and closes its log.
func (c *Cluster) Stop() {
	_ = c.CP.Stop()
	_ = c.Log.Close()
}

// Manager is bin/canopy-manager running against a Cluster.
type Manager struct {
	// Log is dir/canopy-manager.log, the manager's output.
	Log    *os.File
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// StartManager runs root's bin/canopy-manager against c, serving c's
// webhooks, in canopy-system, with flags added, and waits until it is
// ready: its webhook server is up and the namespace forest has loaded.
func StartManager(root, dir string, c *Cluster, flags ...string) (*Manager, error) {
	_, port, _ := c.CP.WebhookServing()
	return StartReplica(root, dir, c, "", port, flags...)
}

// StartReplica is StartManager for one of several replicas: it serves
// webhooks on webhookPort (with c's certificate) and logs to
// dir/canopy-manager-name.log (dir/canopy-manager.log for an empty name).
// Something must forward c's webhook port to the replicas' ports, as a
// Service would.
func StartReplica(root, dir string, c *Cluster, name string, webhookPort int, flags ...string) (*Manager, error) {
	host, _, certDir := c.CP.WebhookServing()
	probePort, err := controlplane.FreePort()
	if err != nil {
		return nil, err
	}
	logName := "canopy-manager.log"
	if name != "" {
		logName = "canopy-manager-" + name + ".log"
	}
	log, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		return nil, err
	}
	fmt.Println("Starting canopy-manager", name, "...")
	cmd := exec.Command(filepath.Join(root, "bin", "canopy-manager"), append([]string{
		"--kubeconfig=" + c.Kubeconfig,
		"--webhook-host=" + host, "--webhook-port=" + strconv.Itoa(webhookPort), "--webhook-cert-dir=" + certDir,
		"--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(probePort),
		"--manager-namespace=canopy-system",
	}, flags...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting canopy-manager (run `make build` first): %w", err)
	}
	m := &Manager{Log: log, cmd: cmd, exited: make(chan struct{})}
	go func() { m.err = cmd.Wait(); close(m.exited) }()
	if err := m.waitReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort)); err != nil {
		m.Stop()
		return nil, fmt.Errorf("canopy-manager did not become ready (see %s): %w", log.Name(), err)
	}
	return m, nil
}

// Kill sends SIGKILL, as a crash or an OOM kill would, waits for the exit
// and closes the log.
func (m *Manager) Kill() {
	_ = m.cmd.Process.Kill()
	<-m.exited
	_ = m.Log.Close()
}

// Exited is closed once the manager has exited; Err then says why.
func (m *Manager) Exited() <-chan struct{} { return m.exited }

// Err is the manager's exit error, once Exited is closed.
func (m *Manager) Err() error { return m.err }

// Stop stops the manager (SIGTERM, then SIGKILL after 15 s) and closes
// its log.
func (m *Manager) Stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(15 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	_ = m.Log.Close()
}

func (m *Manager) waitReady(url string) error {
	return WaitReady(url, 200*time.Millisecond, 90*time.Second, func() error {
		select {
		case <-m.exited:
			return errors.Join(errors.New("canopy-manager exited"), m.err)
		default:
			return nil
		}
	})
}

// WaitReady polls url every interval until it answers 200 OK, for at most
// timeout. exited says whether the process serving it has exited: nil
// while it runs, else why, which ends the wait.
func WaitReady(url string, interval, timeout time.Duration, exited func() error) error {
	return wait.PollUntilContextTimeout(context.Background(), interval, timeout, true, func(ctx context.Context) (bool, error) {
		if err := exited(); err != nil {
			return false, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// StartClusters starts one control plane per name, in parallel, each as
// StartCluster would in dir/name. On error it stops those that started.
func StartClusters(ctx context.Context, root, dir string, names []string, namespaces ...string) ([]*Cluster, error) {
	clusters := make([]*Cluster, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			d := filepath.Join(dir, name)
			if err := os.MkdirAll(d, 0o755); err != nil {
				errs[i] = err
				return
			}
			c, err := StartCluster(ctx, root, d, namespaces...)
			if err != nil {
				errs[i] = fmt.Errorf("starting %s: %w", name, err)
				return
			}
			clusters[i] = c
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range clusters {
			if c != nil {
				c.Stop()
			}
		}
		return nil, err
	}
	return clusters, nil
}
