package takeover

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

// hncVersion is the HNC release whose controller the test takes over from;
// `make hnc-bins` (test/tools/build-hnc.sh) builds it.
const hncVersion = "v1.1.0"

// hncManagerBinary returns the path of HNC's manager built by `make
// hnc-bins`, in the same cache as the control-plane binaries.
func hncManagerBinary() (string, error) {
	return controlplane.CachedBinary("hnc-"+hncVersion, "manager", "hnc-bins")
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

// hncProcess is HNC's controller running out of cluster.
type hncProcess struct {
	cmd  *exec.Cmd
	done chan error
	log  *bytes.Buffer
}

// startHNC runs HNC's manager as the user cfg, with its webhooks off (it
// then needs no certificates), hierarchical quotas on, and the system
// namespaces and both managers' namespaces excluded, as HNC's manifests
// do. It returns once HNC's health endpoint answers.
func startHNC(t *testing.T, bin string, cfg *rest.Config) *hncProcess {
	t.Helper()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(cfg, kubeconfig); err != nil {
		t.Fatalf("writing HNC's kubeconfig: %v", err)
	}
	probe, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := &hncProcess{done: make(chan error, 1), log: &bytes.Buffer{}}
	p.cmd = exec.Command(bin,
		"--kubeconfig="+kubeconfig,
		"--no-webhooks",
		"--enable-hrq",
		"--enable-stackdriver=false",
		"--metrics-addr=0",
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(probe),
		"--excluded-namespace=kube-system",
		"--excluded-namespace=kube-public",
		"--excluded-namespace=kube-node-lease",
		"--excluded-namespace=hnc-system",
		"--excluded-namespace=canopy-system",
	)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting HNC's manager: %v", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	err = localcanopy.WaitReady("http://127.0.0.1:"+strconv.Itoa(probe)+"/readyz", 100*time.Millisecond, 60*time.Second, func() error {
		select {
		case err := <-p.done:
			p.done <- err
			return fmt.Errorf("HNC's manager exited: %v", err)
		default:
			return nil
		}
	})
	if err != nil {
		p.stop()
		t.Fatalf("HNC's manager did not become ready: %v\n%s", err, p.log.String())
	}
	return p
}

// stop sends SIGTERM and waits for HNC to exit (killing it after 20s).
func (p *hncProcess) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case _ = <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		_ = <-p.done
	}
}

// exitedEarly reports whether HNC stopped on its own.
func (p *hncProcess) exitedEarly() error {
	select {
	case err := <-p.done:
		p.done <- err
		return errors.Join(errors.New("HNC's manager exited"), err)
	default:
		return nil
	}
}
