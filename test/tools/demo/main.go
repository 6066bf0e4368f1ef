// Command demo is what `make demo` runs: a local control plane (etcd,
// kube-apiserver, kube-controller-manager, built from source), Canopy's
// CRDs and webhooks, the canopy-manager binary, and the samples from
// config/samples. It prints what Canopy made and the kubeconfig path, then
// keeps running until Ctrl-C (or exits at once with -once, as the e2e test
// runs it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/test/tools/controlplane"
)

func main() {
	root := flag.String("root", ".", "Repository root.")
	once := flag.Bool("once", false, "Exit after setting up and printing, instead of waiting for Ctrl-C.")
	dir := flag.String("dir", ".demo", "Directory for the kubeconfig and logs.")
	flag.Parse()
	if err := run(*root, *dir, *once); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(root, dir string, once bool) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	logFile, err := os.Create(filepath.Join(dir, "control-plane.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()

	fmt.Println("Starting etcd, kube-apiserver and kube-controller-manager ...")
	cp, err := controlplane.Start(controlplane.Options{
		CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")},
		WebhookPaths:      []string{filepath.Join(root, "config", "webhook")},
		Output:            logFile,
	})
	if err != nil {
		return err
	}
	defer func() { _ = cp.Stop() }()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := cp.WriteKubeconfig(kubeconfig); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}

	admin, err := client.New(cp.Config, client.Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := controlplane.EnsureNamespace(ctx, admin, "canopy-system"); err != nil {
		return err
	}
	if err := controlplane.InstallFiles(ctx, admin, filepath.Join(root, "config", "rbac", "hnc_aggregated_roles.yaml")); err != nil {
		return err
	}
	costs := startCost(ctx, cp.Config, root, dir, kubeconfig, logFile)
	defer costs.stop()
	dash, err := startDashboards(ctx, cp.Config, dir, logFile)
	if err != nil {
		return err
	}
	defer dash.stop()
	host, port, certDir := cp.WebhookServing()
	probePort, err := controlplane.FreePort()
	if err != nil {
		return err
	}
	mgrLog, err := os.Create(filepath.Join(dir, "canopy-manager.log"))
	if err != nil {
		return err
	}
	defer mgrLog.Close()
	fmt.Println("Starting canopy-manager ...")
	mgr := exec.Command(filepath.Join(root, "bin", "canopy-manager"), append([]string{
		"--kubeconfig=" + kubeconfig,
		"--webhook-host=" + host, "--webhook-port=" + strconv.Itoa(port), "--webhook-cert-dir=" + certDir,
		"--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(probePort),
		"--manager-namespace=canopy-system",
	}, append(dash.flags, costs.flags...)...)...)
	mgr.Stdout, mgr.Stderr = mgrLog, mgrLog
	if err := mgr.Start(); err != nil {
		return fmt.Errorf("starting canopy-manager (run `make build` first): %w", err)
	}
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Wait() }()
	defer func() {
		_ = mgr.Process.Signal(syscall.SIGTERM)
		select {
		case <-mgrDone:
		case <-time.After(15 * time.Second):
			_ = mgr.Process.Kill()
		}
	}()
	if err := waitReady(fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort), mgrDone); err != nil {
		return fmt.Errorf("canopy-manager did not become ready (see %s): %w", mgrLog.Name(), err)
	}

	kubectl := func(args ...string) error {
		cmd := exec.Command(filepath.Join(cp.BinDir, "kubectl"), append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	fmt.Println("\nApplying config/samples ...")
	if err := kubectl("apply", "-f", filepath.Join(root, "config", "samples")); err != nil {
		return fmt.Errorf("applying samples: %w", err)
	}
	fmt.Println("\nWaiting for the sample Tenants to be Ready ...")
	if err := kubectl("wait", "--for=condition=Ready", "tenants", "--all", "--timeout=120s"); err != nil {
		return fmt.Errorf("sample Tenants did not become Ready (see %s): %w", mgrLog.Name(), err)
	}
	if err := dash.printURLs(ctx); err != nil {
		return fmt.Errorf("%w (see %s)", err, mgrLog.Name())
	}
	costs.populate(ctx)
	fmt.Println("\nCanopy's and HNC's CRDs:")
	if err := kubectl("get", "crd"); err != nil {
		return err
	}
	plugin := exec.Command(filepath.Join(root, "bin", "kubectl-canopy"), "--kubeconfig="+kubeconfig, "tree", "-A")
	plugin.Stdout, plugin.Stderr = os.Stdout, os.Stderr
	fmt.Println("\nNamespace trees (kubectl canopy tree -A):")
	if err := plugin.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "kubectl-canopy tree:", err)
	}

	fmt.Printf("\nCanopy is running. Point kubectl at it:\n\n  export KUBECONFIG=%s\n  export PATH=%s:$PATH   # kubectl 1.37 and kubectl-canopy\n\nLogs: %s\n", kubeconfig, cp.BinDir+":"+filepath.Join(root, "bin"), dir)
	if once {
		return nil
	}
	fmt.Println("\nPress Ctrl-C to stop.")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		fmt.Println("\nStopping ...")
		return nil
	case err := <-mgrDone:
		return fmt.Errorf("canopy-manager exited: %v (see %s)", err, mgrLog.Name())
	}
}

// waitReady polls the manager's readiness endpoint, which passes once the
// webhook server is up and the namespace forest has loaded.
func waitReady(url string, done <-chan error) error {
	return wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, errors.Join(errors.New("canopy-manager exited"), err)
		default:
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
