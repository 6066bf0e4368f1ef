// Package cost is the end-to-end test of Canopy's cost reporting against
// the real OpenCost (v1.108.0, built by `make opencost-bin`) and the real
// Prometheus (Debian's package), with the real control plane.
//
// OpenCost listens on every interface and probes cloud metadata addresses
// when it starts, so it must never run where it can reach off the machine.
// TestMain re-executes the test binary inside a new network namespace that
// has only a loopback interface (`unshare --net`, which needs root), and
// everything runs on that namespace's 127.0.0.1: a fleet of three control
// planes (a hub and two members, each with Canopy's manager), and for each
// member its own OpenCost and Prometheus.
package cost

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/canopyhq/canopy/test/tools/costdemo"
)

// insideEnv marks the re-executed test binary running in the namespace,
// holding the network namespace it was re-executed from.
const insideEnv = "CANOPY_COST_E2E_NETNS"

func TestMain(m *testing.M) {
	if os.Getenv(insideEnv) == "" {
		os.Exit(reexecInNetns())
	}
	os.Exit(m.Run())
}

// reexecInNetns runs this test binary again, with the same arguments, in a
// new network namespace whose only interface is loopback, and returns its
// exit code.
func reexecInNetns() int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "cost e2e: must run as root, to isolate OpenCost in a network namespace (unshare --net)")
		return 1
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost e2e: unshare (util-linux) is required to isolate OpenCost in a network namespace:", err)
		return 1
	}
	if _, err := exec.LookPath("ip"); err != nil {
		fmt.Fprintln(os.Stderr, "cost e2e: ip (iproute2) is required to bring up the namespace's loopback:", err)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost e2e: finding the test binary:", err)
		return 1
	}
	hostNetNS, err := costdemo.OwnNetNS()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost e2e:", err)
		return 1
	}
	cmd := exec.Command(unshare, costdemo.UnshareArgs(self, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The namespace the test must not run in, for the guard in TestCost.
	cmd.Env = append(os.Environ(), insideEnv+"="+hostNetNS)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "cost e2e: running the test in a network namespace (unshare --net needs root):", err)
		return 1
	}
	return 0
}
