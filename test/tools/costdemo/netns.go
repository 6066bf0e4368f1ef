package costdemo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// UnshareArgs are the arguments of unshare(1) that run self with args in a
// new network namespace with its loopback up and nothing else: OpenCost
// listens on every interface and probes cloud metadata addresses when it
// starts, so it runs only there (needs root and iproute2's ip).
func UnshareArgs(self string, args ...string) []string {
	return append([]string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh", self}, args...)
}

// OwnNetNS is this process's network namespace (the link
// /proc/self/ns/net), to hand to CheckLoopbackOnly in the namespace.
func OwnNetNS() (string, error) {
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return "", fmt.Errorf("reading the network namespace: %w", err)
	}
	return ns, nil
}

// CheckLoopbackOnly is the guard run before OpenCost starts: it fails
// unless this process is in a network namespace other than hostNetNS (the
// one it was started from) whose every interface is loopback, with
// loopback up, so that nothing there can reach off the machine.
func CheckLoopbackOnly(hostNetNS string) error {
	if ns, err := os.Readlink("/proc/self/ns/net"); err != nil || hostNetNS == "" || ns == hostNetNS {
		return fmt.Errorf("refusing to start OpenCost: not in a new network namespace (own %q, parent's %q, %v)", ns, hostNetNS, err)
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("listing network interfaces: %w", err)
	}
	up := false
	for _, i := range ifaces {
		if i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("refusing to start OpenCost: network interface %s is not loopback (not in a fresh network namespace?)", i.Name)
		}
		up = up || i.Flags&net.FlagUp != 0
	}
	if !up {
		return errors.New("refusing to start OpenCost: loopback is down")
	}
	return nil
}

// HTTPGet fetches u within 30 s and returns its status code and body.
func HTTPGet(ctx context.Context, u string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
