package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
)

// apiServerProc is a kube-apiserver this package re-executed after
// StopAPIServer; envtest no longer knows about it.
type apiServerProc struct {
	argv, env []string
	cmd       *exec.Cmd
	done      chan struct{}
}

// StopAPIServer stops kube-controller-manager and kube-apiserver (SIGTERM,
// waiting for each to exit), as when a cluster's control plane goes down.
// etcd keeps running with its data, and the certificates stay, so
// RestartAPIServer can bring the same cluster back on the same port.
//
// envtest offers no restart that keeps its certificates, so the
// kube-apiserver envtest started is found through /proc: the process
// running BinDir/kube-apiserver with this control plane's --secure-port and
// --cert-dir. Its command line and environment are kept for the restart.
func (cp *ControlPlane) StopAPIServer() error {
	cp.stopKCM()
	if cp.api != nil {
		if cp.api.cmd != nil {
			err := stopOwned(cp.api.cmd, cp.api.done)
			cp.api.cmd = nil
			return err
		}
		return errors.New("kube-apiserver is already stopped")
	}
	pid, argv, env, err := cp.findAPIServer()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping kube-apiserver (pid %d): %w", pid, err)
	}
	// envtest's goroutine waits for (reaps) the process; poll until it has
	// exited.
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, cp.Env.ControlPlaneStopTimeout, true,
		func(context.Context) (bool, error) { return !running(pid), nil })
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return fmt.Errorf("kube-apiserver (pid %d) did not exit after SIGTERM: %w", pid, err)
	}
	cp.api = &apiServerProc{argv: argv, env: env}
	return nil
}

// RestartAPIServer starts kube-apiserver again after StopAPIServer, with
// the identical command line and environment, waits until it is ready,
// then starts kube-controller-manager again.
func (cp *ControlPlane) RestartAPIServer() error {
	if cp.api == nil || cp.api.cmd != nil {
		return errors.New("kube-apiserver was not stopped by StopAPIServer")
	}
	api := cp.Env.ControlPlane.GetAPIServer()
	cmd := exec.Command(cp.api.argv[0], cp.api.argv[1:]...)
	cmd.Env = cp.api.env
	cmd.Stdout, cmd.Stderr = api.Out, api.Err
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restarting kube-apiserver: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	cp.api.cmd, cp.api.done = cmd, done
	if err := cp.waitReady(done); err != nil {
		return err
	}
	return cp.restartKCM()
}

// waitReady polls the API server's /readyz as the admin until it answers
// ok or the process exits.
func (cp *ControlPlane) waitReady(exited <-chan struct{}) error {
	hc, err := rest.HTTPClientFor(cp.Config)
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, cp.Env.ControlPlaneStartTimeout, true,
		func(ctx context.Context) (bool, error) {
			select {
			case <-exited:
				return false, errors.New("kube-apiserver exited")
			default:
			}
			resp, err := hc.Get(strings.TrimSuffix(cp.Config.Host, "/") + "/readyz")
			if err != nil {
				last = err
				return false, nil
			}
			_ = resp.Body.Close()
			last = fmt.Errorf("/readyz: %s", resp.Status)
			return resp.StatusCode == 200, nil
		})
	if err != nil {
		return fmt.Errorf("restarted kube-apiserver not ready: %w (last: %w)", err, last)
	}
	return nil
}

// restartKCM starts kube-controller-manager with its first command line.
func (cp *ControlPlane) restartKCM() error {
	old := cp.kcm
	cmd := exec.Command(old.Path, old.Args[1:]...)
	cmd.Stdout, cmd.Stderr = old.Stdout, old.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restarting kube-controller-manager: %w", err)
	}
	cp.kcm, cp.kcmDone = cmd, make(chan struct{})
	done := cp.kcmDone
	go func() { _ = cmd.Wait(); close(done) }()
	return nil
}

// stopKCM interrupts kube-controller-manager and waits for it, killing it
// after 10 s.
func (cp *ControlPlane) stopKCM() {
	if cp.kcm == nil || cp.kcm.Process == nil {
		return
	}
	_ = cp.kcm.Process.Signal(os.Interrupt)
	select {
	case <-cp.kcmDone:
	case <-time.After(10 * time.Second):
		_ = cp.kcm.Process.Kill()
		<-cp.kcmDone
	}
}

// stopRestarted stops a kube-apiserver RestartAPIServer started.
func (cp *ControlPlane) stopRestarted() error {
	if cp.api == nil || cp.api.cmd == nil {
		return nil
	}
	err := stopOwned(cp.api.cmd, cp.api.done)
	cp.api.cmd = nil
	return err
}

func stopOwned(cmd *exec.Cmd, done <-chan struct{}) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("kube-apiserver did not stop within 30 s of SIGTERM; killed")
	}
}

// findAPIServer finds the kube-apiserver envtest started for this control
// plane and returns its pid, command line and environment.
func (cp *ControlPlane) findAPIServer() (int, []string, []string, error) {
	api := cp.Env.ControlPlane.GetAPIServer()
	u, err := url.Parse(cp.Config.Host)
	if err != nil {
		return 0, nil, nil, err
	}
	exe, err := filepath.EvalSymlinks(filepath.Join(cp.BinDir, "kube-apiserver"))
	if err != nil {
		return 0, nil, nil, err
	}
	want := []string{"--secure-port=" + u.Port(), "--cert-dir=" + api.CertDir}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, nil, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		if p, err := os.Readlink(filepath.Join(dir, "exe")); err != nil || p != exe {
			continue
		}
		argv, err := nulSplit(filepath.Join(dir, "cmdline"))
		if err != nil || !slices.Contains(argv, want[0]) || !slices.Contains(argv, want[1]) {
			continue
		}
		env, err := nulSplit(filepath.Join(dir, "environ"))
		if err != nil {
			return 0, nil, nil, fmt.Errorf("reading kube-apiserver's environment: %w", err)
		}
		return pid, argv, env, nil
	}
	return 0, nil, nil, fmt.Errorf("no running %s with %v", exe, want)
}

// running reports whether pid is alive (not gone, not a zombie).
func running(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func nulSplit(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}

// PauseControllerManager freezes kube-controller-manager's process
// (SIGSTOP) until resume is called (SIGCONT; idempotent), so that a test can
// tell what Canopy does when the controller does not recount. A test that
// pauses it must resume it before it ends.
func (cp *ControlPlane) PauseControllerManager() (resume func(), err error) {
	if cp.kcm == nil || cp.kcm.Process == nil {
		return nil, errors.New("kube-controller-manager is not running")
	}
	if err := cp.kcm.Process.Signal(syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("pausing kube-controller-manager: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { _ = cp.kcm.Process.Signal(syscall.SIGCONT) }) }, nil
}
