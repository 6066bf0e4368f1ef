package scale

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

// proc is a manager running as its own process, so its memory and CPU can
// be read from /proc.
type proc struct {
	cmd      *exec.Cmd
	log      *os.File
	exited   chan struct{}
	err      error
	readyURL string
	// pprof is the address of its net/http/pprof, if it serves one.
	pprof string
}

// startProc runs bin with args and env added, logging to logPath, and
// returns at once.
func startProc(bin string, args, env []string, logPath, readyURL, pprof string) (*proc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &proc{cmd: cmd, log: log, exited: make(chan struct{}), readyURL: readyURL, pprof: pprof}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// waitReady polls readyz every 25 ms.
func (p *proc) waitReady(timeout time.Duration) error {
	err := localcanopy.WaitReady(p.readyURL, 25*time.Millisecond, timeout, func() error {
		select {
		case <-p.exited:
			return errors.Join(errors.New("the manager exited"), p.err)
		default:
			return nil
		}
	})
	if err != nil {
		return fmt.Errorf("waiting for %s (log %s): %w", p.readyURL, p.log.Name(), err)
	}
	return nil
}

// stop sends SIGTERM and waits for the exit (SIGKILL after 30 s).
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	_ = p.log.Close()
}

// kill sends SIGKILL, as an OOM kill would, and waits for the exit.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
	_ = p.log.Close()
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func (p *proc) peakRSS() (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/pid/status")
}

// cpu is the process's user plus system CPU time so far.
func (p *proc) cpu() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces; the fields after
	// it are fixed: utime and stime are the 12th and 13th (clock ticks,
	// 100 a second on Linux).
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/pid/stat: %q", s)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// profile saves a CPU profile of the next d into path, if the process
// serves pprof; the returned function waits for it.
func (p *proc) profile(ctx context.Context, d time.Duration, path string) func() {
	if p.pprof == "" || path == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprof, int(d.Seconds()))
		if err := download(ctx, url, path); err != nil {
			fmt.Fprintf(os.Stderr, "profile %s: %v\n", path, err)
		}
	}()
	return func() { <-done }
}

// writeKubeconfig writes a kubeconfig for cfg (a client-certificate user).
func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cp"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["cp"] = &clientcmdapi.Context{Cluster: "cp", AuthInfo: "user"}
	kc.CurrentContext = "cp"
	return clientcmd.WriteToFile(*kc, path)
}

// copyFile copies src to dst, creating dst's directory.
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o600)
}
