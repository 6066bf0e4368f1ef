// Command demo is what `make demo` runs: a local control plane (etcd,
// kube-apiserver, kube-controller-manager, built from source), Canopy's
// CRDs and webhooks, the canopy-manager binary with its tenant Prometheus
// proxy, Debian's Prometheus, and the samples from config/samples. It
// writes each tenant's Grafana dashboards and datasource as JSON under
// <dir>/dashboards/<tenant>/ (no Grafana server runs), prints each team's
// quota use and, when OpenCost runs (as root), its month-to-date cost, and
// the kubeconfig path, then keeps running until Ctrl-C (or exits at once
// with -once). With CANOPY_DEMO_FLEET=1 it runs the fleet demo instead
// (fleet.go): a hub and three members, one Tenant across the three.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/canopyhq/canopy/test/tools/localcanopy"
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
	if os.Getenv(fleetEnv) == "1" {
		return runFleet(root, filepath.Join(dir, "fleet"), once)
	}
	ctx := context.Background()
	cluster, err := localcanopy.StartCluster(ctx, root, dir, "canopy-system")
	if err != nil {
		return err
	}
	defer cluster.Stop()
	cp, kubeconfig, logFile := cluster.CP, cluster.Kubeconfig, cluster.Log
	costs := startCost(ctx, cp.Config, root, dir, kubeconfig, logFile)
	defer costs.stop()
	dash, err := startDashboards(ctx, cp.Config, dir, logFile)
	if err != nil {
		return err
	}
	defer dash.stop()
	mgr, err := localcanopy.StartManager(root, dir, cluster, append(dash.flags, costs.flags...)...)
	if err != nil {
		return err
	}
	defer mgr.Stop()
	mgrLog := mgr.Log

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
	states, err := dash.exportDashboards(ctx, filepath.Join(dir, "dashboards"))
	if err != nil {
		return fmt.Errorf("writing the dashboards: %w", err)
	}
	costs.populate(ctx)
	if err := dash.printQuotaUse(ctx, states); err != nil {
		return fmt.Errorf("reading quota use: %w", err)
	}
	costs.printTeamCost(kubeconfig)
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
	case <-mgr.Exited():
		return fmt.Errorf("canopy-manager exited: %v (see %s)", mgr.Err(), mgrLog.Name())
	}
}
