package cost

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openCostVersion is the version test/tools/build-opencost.sh builds.
const openCostVersion = "v1.108.0"

// openCostBinary returns the cost model binary: $OPENCOST_BIN, or the
// version-keyed cache `make opencost-bin` fills.
func openCostBinary() (string, error) {
	if p := os.Getenv("OPENCOST_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("OPENCOST_BIN: %w", err)
		}
		return p, nil
	}
	cache := os.Getenv("CANOPY_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("finding the binary cache: %w", err)
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "canopy")
	}
	p := filepath.Join(cache, "opencost-"+openCostVersion, "costmodel")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("OpenCost's costmodel missing at %s (run `make opencost-bin`; make test does): %w", p, err)
	}
	return p, nil
}

// openCostPort is OpenCost's API and /metrics port. A fixed port is safe:
// the network namespace is this test's alone.
const openCostPort = 9003

// customPricing is OpenCost's default.json: per core-hour, per GiB-hour.
// Binary fractions, so every cost in this test is exact.
const customPricing = `{
  "provider": "custom",
  "description": "Canopy cost e2e prices",
  "CPU": "0.25",
  "spotCPU": "0.25",
  "RAM": "0.125",
  "spotRAM": "0.125",
  "GPU": "0",
  "storage": "0",
  "zoneNetworkEgress": "0",
  "regionNetworkEgress": "0",
  "internetNetworkEgress": "0"
}
`

// startOpenCost runs the cost model against the API server (kubeconfig)
// and Prometheus, with a fresh copy of the prices (OpenCost rewrites its
// config), and waits until it answers /allocation.
func startOpenCost(ctx context.Context, t *testing.T, bin, dir, kubeconfig, promURL string) string {
	t.Helper()
	cfgDir := filepath.Join(dir, "opencost-config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "default.json"), []byte(customPricing), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "opencost.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		// Without it OpenCost thinks it runs outside a cluster and serves
		// no /allocation.
		"KUBERNETES_PORT=tcp://127.0.0.1:443",
		"KUBECONFIG="+kubeconfig,
		"KUBECONFIG_PATH="+kubeconfig,
		"PROMETHEUS_SERVER_ENDPOINT="+promURL,
		"CLUSTER_ID=canopy-e2e",
		"CONFIG_PATH="+cfgDir+"/",
		fmt.Sprintf("API_PORT=%d", openCostPort),
		"PRODUCT_ANALYTICS_ENABLED=false",
		"ERROR_REPORTING_ENABLED=false",
		"VALUES_REPORTING_ENABLED=false",
		"LOG_COLLECTION_ENABLED=false",
		"CLOUD_COST_ENABLED=false",
		"CACHE_WARMING_ENABLED=false",
		"EMIT_KSM_V1_METRICS=true",
	)
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
	base := fmt.Sprintf("http://127.0.0.1:%d", openCostPort)
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, body, err := get(ctx, base+"/healthz")
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

func get(ctx context.Context, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
