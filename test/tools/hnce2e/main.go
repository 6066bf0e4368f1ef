// Command hnce2e is what `make hnc-e2e` runs: HNC v1.1.0's own e2e suite
// (its test/e2e ginkgo specs, built by test/tools/build-hnc.sh with HNC's
// kubectl-hns) against a local control plane running Canopy instead of
// HNC. It starts etcd, kube-apiserver and kube-controller-manager, installs
// Canopy's CRDs and webhooks, starts bin/canopy-manager, runs the suite
// with kubectl 1.37 and HNC's kubectl-hns on PATH, and writes a summary of
// passed, failed and skipped specs (summary.md) beside ginkgo's JSON report
// and the logs in -dir.
//
// The suite is the compatibility spec; test/hnc-e2e/RESULTS.md records a
// full run and why each failing or skipped spec fails or skips.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

func main() {
	root := flag.String("root", ".", "Repository root (bin/canopy-manager, config/).")
	dir := flag.String("dir", ".hnc-e2e", "Directory for the kubeconfig, logs, the JSON report and summary.md.")
	hncDir := flag.String("hnc-dir", "", "Directory of HNC's binaries (default: the output of test/tools/build-hnc.sh).")
	focus := flag.String("focus", "", "Run only the released suite's specs matching this regex (ginkgo's -focus).")
	timeout := flag.Duration("timeout", 90*time.Minute, "Timeout of each suite run.")
	hrq := flag.Bool("hrq", true, "Also run HNC's HierarchicalResourceQuota specs, which HNC left pending.")
	hrqFocus := flag.String("hrq-focus", "Hierarchical Resource Quota|Create and use HierarchicalResourceQuota", "Specs of e2e-hrq.test to run (ginkgo's -focus).")
	flag.Parse()
	if err := run(*root, *dir, *hncDir, *focus, *hrqFocus, *hrq, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "hnc-e2e:", err)
		os.Exit(1)
	}
}

func run(root, dir, hncDir, focus, hrqFocus string, hrq bool, timeout time.Duration) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if hncDir == "" {
		out, err := exec.Command(filepath.Join(root, "test", "tools", "build-hnc.sh")).Output()
		if err != nil {
			return fmt.Errorf("building HNC's binaries (test/tools/build-hnc.sh): %w", err)
		}
		hncDir = strings.TrimSpace(string(out))
	}
	for _, b := range []string{"e2e.test", "e2e-hrq.test", "kubectl-hns"} {
		if _, err := os.Stat(filepath.Join(hncDir, b)); err != nil {
			return fmt.Errorf("HNC's %s missing in %s (run `make hnc-bins`): %w", b, hncDir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	// hnc-system exists in every cluster that ran HNC; a few specs use it
	// as an excluded namespace.
	cluster, err := localcanopy.StartCluster(context.Background(), root, dir, "canopy-system", "hnc-system")
	if err != nil {
		return err
	}
	defer cluster.Stop()
	cp, kubeconfig := cluster.CP, cluster.Kubeconfig
	// Canopy runs under HNC's names, supervised like HNC's Deployment, so
	// the specs that damage HNC and re-apply HNC_REPAIR run too.
	sc, err := newSupervisorClient(cluster)
	if err != nil {
		return err
	}
	repair, err := installRepair(context.Background(), root, dir, sc)
	if err != nil {
		return err
	}
	sup := &supervisor{root: root, dir: dir, cluster: cluster, c: sc, flags: []string{"--excluded-namespace=hnc-system"}}
	ctx, stopSupervisor := context.WithCancel(context.Background())
	supervised := make(chan struct{})
	go func() { sup.run(ctx); close(supervised) }()
	defer func() { stopSupervisor(); <-supervised }()
	if err := sup.waitRunning(ctx, 2*time.Minute); err != nil {
		return err
	}

	// The suite as released, then HNC's pending HRQ specs (turned on in
	// e2e-hrq.test by build-hnc.sh).
	runs := []suiteRun{
		{Title: "HNC's e2e suite as released", Binary: "e2e.test", Focus: focus, Report: "report.json", Log: "suite.log"},
	}
	if hrq {
		runs = append(runs, suiteRun{Title: "HNC's HierarchicalResourceQuota specs (pending upstream, turned on here)",
			Binary: "e2e-hrq.test", Focus: hrqFocus, Report: "report-hrq.json", Log: "suite-hrq.log"})
	}
	var sections []string
	var errs []error
	for _, r := range runs {
		if err := sup.waitRunning(ctx, 2*time.Minute); err != nil {
			errs = append(errs, fmt.Errorf("before %s: %w", r.Binary, err))
			break
		}
		// Each suite starts from a fresh installation's HNCConfiguration:
		// the released suite's "Should demonstrate exceptions" leaves
		// secrets in Propagate mode, and the HRQ specs, which HNC never ran
		// after it, count secrets that would then be copied into children.
		if err := resetHNCConfig(cp.BinDir, kubeconfig); err != nil {
			errs = append(errs, fmt.Errorf("before %s: %w", r.Binary, err))
			break
		}
		took, err := r.run(dir, hncDir, kubeconfig, cp.BinDir, repair, timeout)
		if err != nil {
			fmt.Printf("%s finished after %s: %v\n", r.Binary, took.Round(time.Second), err)
		}
		sec, err := summarize(r.Title, filepath.Join(dir, r.Report), took)
		if err != nil {
			errs = append(errs, fmt.Errorf("summarizing %s: %w", r.Report, err))
			continue
		}
		sections = append(sections, sec)
	}
	summary := "# HNC v1.1.0 e2e suite against Canopy\n" + strings.Join(sections, "")
	out := filepath.Join(dir, "summary.md")
	if err := os.WriteFile(out, []byte(summary), 0o644); err != nil {
		return err
	}
	fmt.Printf("\n%s\nSummary written to %s\n", summary, out)
	// Failing specs are the expected outcome of a compatibility report, not
	// an error of this command; a missing report is.
	return errors.Join(errs...)
}

// resetHNCConfig drops every type setting from the HNCConfiguration, as a
// fresh installation has it (Roles and RoleBindings still propagate). The
// manager creates the object once it leads, which may be a moment after it
// started: a missing one is waited for, for up to two minutes.
func resetHNCConfig(kubectlDir, kubeconfig string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cmd := exec.Command(filepath.Join(kubectlDir, "kubectl"), "--kubeconfig", kubeconfig,
			"patch", "hncconfiguration", "config", "--type=merge", "-p", `{"spec":{"resources":null}}`)
		out, err := cmd.CombinedOutput()
		switch {
		case err == nil:
			return nil
		case strings.Contains(string(out), "NotFound") && time.Now().Before(deadline):
			time.Sleep(time.Second)
		default:
			return fmt.Errorf("resetting the HNCConfiguration: %w: %s", err, out)
		}
	}
}

// suiteRun is one run of an HNC e2e test binary.
type suiteRun struct {
	Title, Binary, Focus, Report, Log string
}

// run runs the suite with kubectl 1.37 (kubectlDir) and HNC's kubectl-hns
// (hncDir) on PATH and KUBECONFIG pointing at the control plane.
func (r suiteRun) run(dir, hncDir, kubeconfig, kubectlDir, repair string, timeout time.Duration) (time.Duration, error) {
	report := filepath.Join(dir, r.Report)
	_ = os.Remove(report)
	args := []string{"-test.v", "-test.timeout=" + (timeout + 5*time.Minute).String(),
		"-ginkgo.v", "-ginkgo.no-color", "-ginkgo.timeout=" + timeout.String(), "-ginkgo.json-report=" + report}
	if r.Focus != "" {
		args = append(args, "-ginkgo.focus="+r.Focus)
	}
	suiteLog, err := os.Create(filepath.Join(dir, r.Log))
	if err != nil {
		return 0, err
	}
	defer suiteLog.Close()
	suite := exec.Command(filepath.Join(hncDir, r.Binary), args...)
	// The suite reads a file beside its sources, so it runs there.
	suite.Dir = filepath.Join(hncDir, "src", "test", "e2e")
	// HNC_REPAIR names the manifest that reinstalls Canopy under HNC's
	// names; the supervisor restarts the manager when it is applied.
	suite.Env = append(withoutEnv(os.Environ(), "KUBECONFIG", "PATH", "HNC_REPAIR"),
		"KUBECONFIG="+kubeconfig, "HNC_REPAIR="+repair,
		"PATH="+kubectlDir+string(os.PathListSeparator)+hncDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	suite.Stdout, suite.Stderr = io.MultiWriter(suiteLog, os.Stdout), io.MultiWriter(suiteLog, os.Stderr)
	fmt.Printf("Running %s (log: %s) ...\n", r.Binary, suiteLog.Name())
	start := time.Now()
	err = suite.Run()
	return time.Since(start), err
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// The parts of ginkgo's JSON report the summary needs.
type suiteReport struct {
	SuiteDescription string
	SpecReports      []specReport
}

type specReport struct {
	ContainerHierarchyTexts []string
	LeafNodeType            string
	LeafNodeText            string
	State                   string
	RunTime                 time.Duration
	Failure                 struct {
		Message  string
		Location struct {
			FileName   string
			LineNumber int
		}
	}
}

func (s specReport) name() string {
	return strings.TrimSpace(strings.Join(append(append([]string{}, s.ContainerHierarchyTexts...), s.LeafNodeText), " "))
}

// summarize turns ginkgo's JSON report into a Markdown summary: counts,
// then every spec by state, with the first line of each failure.
func summarize(title, path string, took time.Duration) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var reports []suiteReport
	if err := json.Unmarshal(data, &reports); err != nil {
		return "", fmt.Errorf("parsing ginkgo's JSON report: %w", err)
	}
	byState := map[string][]specReport{}
	notRun := 0
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != "It" {
				if s.State == "passed" || s.State == "skipped" {
					continue // suite-level setup nodes only matter when they fail
				}
			}
			if s.State == "skipped" && s.Failure.Message == "" {
				notRun++ // filtered out by -focus, not skipped by the spec
				continue
			}
			byState[s.State] = append(byState[s.State], s)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## %s\n\nRun took %s.\n\n", title, took.Round(time.Second))
	states := []string{"passed", "failed", "skipped", "pending", "panicked", "aborted", "interrupted"}
	for _, st := range states {
		fmt.Fprintf(&b, "- %s: %d\n", st, len(byState[st]))
	}
	if notRun > 0 {
		fmt.Fprintf(&b, "- not selected (-focus): %d\n", notRun)
	}
	for _, st := range states {
		specs := byState[st]
		if len(specs) == 0 {
			continue
		}
		sort.Slice(specs, func(i, j int) bool { return specs[i].name() < specs[j].name() })
		fmt.Fprintf(&b, "\n### %s (%d)\n\n", st, len(specs))
		for _, s := range specs {
			fmt.Fprintf(&b, "- %s (%s)\n", s.name(), s.RunTime.Round(time.Second))
			if st != "passed" && s.Failure.Message != "" {
				msg := strings.TrimSpace(s.Failure.Message)
				if i := strings.IndexByte(msg, '\n'); i >= 0 {
					msg = msg[:i]
				}
				if len(msg) > 300 {
					msg = msg[:300] + "…"
				}
				fmt.Fprintf(&b, "  - %s:%d: %s\n", filepath.Base(s.Failure.Location.FileName), s.Failure.Location.LineNumber, msg)
			}
		}
	}
	return b.String(), nil
}
