package cost

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopyhq/canopy/test/tools/costdemo"
)

// startOpenCost runs the cost model on port, as cluster clusterID, against
// the API server (kubeconfig) and Prometheus, with a fresh copy of the
// prices in dir (OpenCost rewrites its config), and waits until it answers.
func startOpenCost(ctx context.Context, t *testing.T, bin, dir, kubeconfig, promURL string, port int, clusterID string) string {
	t.Helper()
	cfgDir := filepath.Join(dir, "opencost-config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "default.json"), []byte(costdemo.CustomPricing), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "opencost.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), costdemo.OpenCostEnvOnPort(kubeconfig, promURL, cfgDir, clusterID, port)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting OpenCost: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("OpenCost log (last 4 KiB):\n%s", tail(b, 4<<10))
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, body, err := costdemo.HTTPGet(ctx, base+"/healthz")
		if err == nil && code == http.StatusOK {
			return base
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("OpenCost exited before it was ready:\n%s", tail(b, 4<<10))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("OpenCost not ready after 90s (last: %d %s %v)", code, body, err)
		}
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
