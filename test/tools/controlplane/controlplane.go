// Package controlplane starts a real local Kubernetes control plane for
// Canopy's integration tests, e2e tests and demo: etcd and kube-apiserver
// through envtest, and kube-controller-manager beside them, all built from
// source by `make k8s-bins`.
//
// envtest runs no controllers. Without the controller manager, deleted
// namespaces stay Terminating forever, ownerReferences are never collected
// and ResourceQuota status is never computed, so it always runs here.
package controlplane

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// K8sVersion is the version of the control-plane binaries.
const K8sVersion = "v1.37.0"

// kcmControllers are the controllers the tests and demo rely on. The
// PVC protection controller removes the finalizer the API server puts on
// every PersistentVolumeClaim; without it a deleted PVC never goes (HNC's
// HRQ specs, run by `make hnc-e2e`, delete PVCs).
const kcmControllers = "namespace-controller,garbage-collector-controller," +
	"serviceaccount-controller,serviceaccount-token-controller," +
	"resourcequota-controller,root-ca-certificate-publisher-controller," +
	"clusterrole-aggregation-controller,persistentvolumeclaim-protection-controller"

// Options configure a control plane.
type Options struct {
	// CRDDirectoryPaths are installed before Start returns.
	CRDDirectoryPaths []string
	// WebhookPaths hold webhook configurations; they are rewritten to point
	// at a local webhook server (see Webhook*).
	WebhookPaths []string
	// APIServerArgs are extra kube-apiserver flags.
	APIServerArgs map[string]string
	// Output receives the controller manager's output; nil discards it.
	Output io.Writer
	// SecurePort for the API server; 0 picks a free one.
	SecurePort int
}

// ControlPlane is a running etcd, kube-apiserver and kube-controller-manager.
type ControlPlane struct {
	Env *envtest.Environment
	// Config is an admin (system:masters) config.
	Config *rest.Config
	// BinDir holds the binaries.
	BinDir string

	kcm     *exec.Cmd
	kcmDone chan struct{}
	dir     string
	// api is set once StopAPIServer has stopped envtest's kube-apiserver.
	api *apiServerProc
}

// CacheDir is where the Make targets cache the binaries they build from
// source, outside the clone: $CANOPY_CACHE, else
// ${XDG_CACHE_HOME:-~/.cache}/canopy.
func CacheDir() (string, error) {
	if d := os.Getenv("CANOPY_CACHE"); d != "" {
		return d, nil
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the binary cache: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "canopy"), nil
}

// CachedBinary returns the path of a binary a Make target built into
// CacheDir()/<dir>/<name>, or an error naming the target to run.
func CachedBinary(dir, name, target string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(cache, dir, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is missing (run `make %s`): %w", name, target, err)
	}
	return p, nil
}

// BinDir returns the directory of the control-plane binaries:
// KUBEBUILDER_ASSETS, or the version-keyed cache `make k8s-bins` fills.
func BinDir() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	d := filepath.Join(cache, "k8s-"+K8sVersion)
	if _, err := os.Stat(filepath.Join(d, "kube-apiserver")); err != nil {
		return "", fmt.Errorf("control-plane binaries missing in %s (run `make k8s-bins`): %w", d, err)
	}
	return d, nil
}

// Start brings up the control plane and waits until the API server answers.
func Start(opts Options) (*ControlPlane, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "canopy-cp-")
	if err != nil {
		return nil, fmt.Errorf("creating control-plane dir: %w", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: bin,
		CRDDirectoryPaths:     opts.CRDDirectoryPaths,
		ErrorIfCRDPathMissing: len(opts.CRDDirectoryPaths) > 0,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths:            opts.WebhookPaths,
			LocalServingHost: "127.0.0.1",
		},
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	api := env.ControlPlane.GetAPIServer()
	args := api.Configure()
	// With the service-account controllers running, the ServiceAccount
	// admission plugin can stay on, as in a real cluster.
	args.Set("disable-admission-plugins", "")
	args.Set("advertise-address", "127.0.0.1")
	args.Set("endpoint-reconciler-type", "none")
	// The front proxy, so aggregated APIs (Canopy's cost.canopy.dev) are
	// served through this API server as on a real cluster.
	proxyArgs, err := frontProxyArgs(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for k, v := range proxyArgs {
		args.Set(k, v)
	}
	for k, v := range opts.APIServerArgs {
		args.Set(k, v)
	}
	if opts.SecurePort != 0 {
		api.SecureServing.ListenAddr = envtest.ListenAddr{Address: "127.0.0.1", Port: strconv.Itoa(opts.SecurePort)}
	} else {
		api.SecureServing.ListenAddr = envtest.ListenAddr{Address: "127.0.0.1"}
	}

	cfg, err := env.Start()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting etcd and kube-apiserver: %w", err)
	}
	cp := &ControlPlane{Env: env, Config: cfg, BinDir: bin, dir: dir}
	if err := cp.startKCM(opts.Output); err != nil {
		_ = cp.Stop()
		return nil, err
	}
	return cp, nil
}

// WebhookServing returns where the manager must serve webhooks.
func (cp *ControlPlane) WebhookServing() (host string, port int, certDir string) {
	o := cp.Env.WebhookInstallOptions
	return o.LocalServingHost, o.LocalServingPort, o.LocalServingCertDir
}

func (cp *ControlPlane) startKCM(out io.Writer) error {
	api := cp.Env.ControlPlane.GetAPIServer()
	kcmUser, err := cp.Env.AddUser(envtest.User{Name: "system:kube-controller-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding the controller manager's user: %w", err)
	}
	kubeconfig, err := kcmUser.KubeConfig()
	if err != nil {
		return fmt.Errorf("writing the controller manager's kubeconfig: %w", err)
	}
	kcPath := filepath.Join(cp.dir, "kcm.kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", kcPath, err)
	}
	caPath := filepath.Join(cp.dir, "ca.crt")
	if err := os.WriteFile(caPath, api.SecureServing.CA, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", caPath, err)
	}
	if out == nil {
		out = io.Discard
	}
	cmd := exec.Command(filepath.Join(cp.BinDir, "kube-controller-manager"),
		"--kubeconfig="+kcPath,
		"--controllers="+kcmControllers,
		"--service-account-private-key-file="+filepath.Join(api.CertDir, "sa-signer.key"),
		"--root-ca-file="+caPath,
		"--use-service-account-credentials=false",
		"--secure-port=0",
		"--bind-address=127.0.0.1",
		"--leader-elect=false",
		"--concurrent-namespace-syncs=5",
		"--concurrent-gc-syncs=20",
		"--concurrent-resource-quota-syncs=10",
		"--resource-quota-sync-period=15s",
	)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	cp.kcm = cmd
	cp.kcmDone = make(chan struct{})
	go func() { _ = cmd.Wait(); close(cp.kcmDone) }()
	return nil
}

// Stop stops every process and removes temporary files.
func (cp *ControlPlane) Stop() error {
	var errs []error
	cp.stopKCM()
	if err := cp.stopRestarted(); err != nil {
		errs = append(errs, err)
	}
	if err := cp.Env.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("stopping envtest: %w", err))
	}
	if err := os.RemoveAll(cp.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// AddUser returns a config authenticating as a new user with its own client
// certificate, for RBAC tests with real users.
func (cp *ControlPlane) AddUser(name string, groups ...string) (*rest.Config, error) {
	u, err := cp.Env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, fmt.Errorf("adding user %q: %w", name, err)
	}
	return u.Config(), nil
}

// WriteKubeconfig writes an admin kubeconfig to path.
func (cp *ControlPlane) WriteKubeconfig(path string) error {
	c := cp.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["canopy"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.CertData, ClientKeyData: c.KeyData}
	kc.Contexts["canopy"] = &clientcmdapi.Context{Cluster: "canopy", AuthInfo: "admin"}
	kc.CurrentContext = "canopy"
	return clientcmd.WriteToFile(*kc, path)
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
