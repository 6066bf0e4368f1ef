// Package alerts checks Canopy's Prometheus alerts, the rule file the chart's
// PrometheusRule embeds (charts/canopy/files/prometheus-rules.yaml), with
// promtool: the rules are valid, and testdata/rules_test.yaml fires each
// alert on synthetic series and checks the cases that must not fire.
package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// RulesFile is the rule file, relative to the repository root.
const RulesFile = "charts/canopy/files/prometheus-rules.yaml"

// promtool is Debian's (apt-get install prometheus), or PROMTOOL_BIN. In CI
// (CI=true) a missing promtool fails the test; elsewhere it skips.
func promtool(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PROMTOOL_BIN")
	if p == "" {
		p = "/usr/bin/promtool"
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool missing at %s (apt-get install prometheus, or set PROMTOOL_BIN): %v", p, err)
		}
		t.Skipf("promtool missing at %s (apt-get install prometheus, or set PROMTOOL_BIN)", p)
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestRulesCheck(t *testing.T) {
	out := runPromtool(t, repoRoot(t), "check", "rules", RulesFile)
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules did not report success:\n%s", out)
	}
}

func TestRulesFireOnSyntheticSeries(t *testing.T) {
	out := runPromtool(t, "testdata", "test", "rules", "rules_test.yaml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules did not report success:\n%s", out)
	}
}

// Every alert in the rule file has a test that expects it to fire.
func TestEveryAlertIsTested(t *testing.T) {
	rules, err := os.ReadFile(filepath.Join(repoRoot(t), RulesFile))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join("testdata", "rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(rules), "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(l), "- alert: ")
		if !ok {
			continue
		}
		n++
		if !firesIn(string(tests), name) {
			t.Errorf("alert %s has no test in testdata/rules_test.yaml that expects it to fire", name)
		}
	}
	if n == 0 {
		t.Fatalf("no alerts found in %s", RulesFile)
	}
}

// firesIn reports whether some alert_rule_test for name lists exp_alerts.
func firesIn(tests, name string) bool {
	blocks := strings.Split(tests, "- eval_time:")
	for _, b := range blocks {
		if strings.Contains(b, "alertname: "+name+"\n") && strings.Contains(b, "exp_alerts:") {
			return true
		}
	}
	return false
}
