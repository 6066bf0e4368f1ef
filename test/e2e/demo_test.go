// Package e2e runs Canopy's built binaries against a local control plane,
// the way a newcomer meets them through `make demo`.
package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// TestDemo starts the demo (control plane, canopy-manager binary, samples),
// then checks with the real kubectl that the kubeconfig it prints reaches an
// API server serving Canopy's and HNC's CRDs, and that Ctrl-C stops it.
func TestDemo(t *testing.T) {
	root := framework.RepoRoot()
	for _, b := range []string{"canopy-manager", "kubectl-canopy"} {
		if _, err := os.Stat(filepath.Join(root, "bin", b)); err != nil {
			t.Fatalf("bin/%s missing: run `make build` (make test does): %v", b, err)
		}
	}
	binDir, err := controlplane.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	demoBin := filepath.Join(dir, "demo")
	build := exec.Command("go", "build", "-o", demoBin, "./test/tools/demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the demo: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	demo := exec.CommandContext(ctx, demoBin, "-root", root, "-dir", filepath.Join(dir, "state"))
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	demo.Stderr = os.Stderr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	var transcript strings.Builder
	ready := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			transcript.WriteString(line + "\n")
			if strings.HasPrefix(strings.TrimSpace(line), "export KUBECONFIG=") {
				ready <- strings.TrimPrefix(strings.TrimSpace(line), "export KUBECONFIG=")
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()

	var kubeconfig string
	select {
	case kubeconfig = <-ready:
	case <-exited:
		t.Fatalf("demo exited before printing its kubeconfig:\n%s", transcript.String())
	case <-ctx.Done():
		t.Fatalf("demo never printed its kubeconfig:\n%s", transcript.String())
	}
	out, err := exec.Command(filepath.Join(binDir, "kubectl"), "--kubeconfig", kubeconfig, "get", "crd", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get crd: %v\n%s", err, out)
	}
	for _, crd := range []string{
		"tenants.tenancy.canopy.dev", "hierarchicalquotas.tenancy.canopy.dev",
		"hierarchyconfigurations.hnc.x-k8s.io", "subnamespaceanchors.hnc.x-k8s.io",
		"hncconfigurations.hnc.x-k8s.io", "hierarchicalresourcequotas.hnc.x-k8s.io",
	} {
		if !strings.Contains(string(out), "customresourcedefinition.apiextensions.k8s.io/"+crd) {
			t.Errorf("CRD %s missing from `kubectl get crd`:\n%s", crd, out)
		}
	}
	out, err = exec.Command(filepath.Join(binDir, "kubectl"), "--kubeconfig", kubeconfig, "get", "tenants", "-o", "name").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tenant.tenancy.canopy.dev/payments") {
		t.Errorf("sample Tenants not applied: %v\n%s", err, out)
	}

	if err := demo.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := demo.Wait(); err != nil {
		t.Fatalf("demo did not stop cleanly on Ctrl-C: %v\n%s", err, transcript.String())
	}
}
