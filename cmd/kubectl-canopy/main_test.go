package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildAndName builds the binary with `go build`, independently of any
// Makefile, and checks that it names itself after the way it is invoked.
func TestBuildAndName(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to build the plugin: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kubectl-canopy")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kubectl-canopy: %v\n%s", err, out)
	}
	hns := filepath.Join(dir, "kubectl-hns")
	if err := os.Symlink(bin, hns); err != nil {
		t.Fatalf("linking kubectl-hns: %v", err)
	}
	for path, want := range map[string]string{bin: "kubectl canopy tree", hns: "kubectl hns tree"} {
		out, err := exec.Command(path, "tree", "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s tree --help: %v\n%s", path, err, out)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("%s tree --help does not mention %q:\n%s", filepath.Base(path), want, out)
		}
	}
	out, err := exec.Command(bin, "set", "ns", "--root", "--parent", "p").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--parent and --root are mutually exclusive") {
		t.Errorf("set --root --parent: err %v, output %q; want a failure naming both flags", err, out)
	}
}
