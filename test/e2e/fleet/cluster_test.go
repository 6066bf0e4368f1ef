// Package fleet runs Canopy's hub against member clusters, all real
// processes: a hub control plane and two member control planes (separate
// kube-apiservers on 127.0.0.1), each with its own bin/canopy-manager, the
// hub's with --hub. One member registers by ClusterProfile, the other by
// kubeconfig Secret; the hub reaches each through an endpoint the test can
// take down.
package fleet

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ciav1 "sigs.k8s.io/cluster-inventory-api/apis/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/canopyhq/canopy/internal/fleet"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

const (
	managerNamespace = "canopy-system"
	hubUser          = "canopy-hub"
)

func init() { crlog.SetLogger(logr.Discard()) }

type site struct {
	name string
	lc   *localcanopy.Cluster
	c    client.Client
	mgr  *localcanopy.Manager
	// ep is how the hub reaches a member.
	ep *endpoint
}

// startSites starts a control plane per name, side by side.
func startSites(t *testing.T, root string, names ...string) []*site {
	t.Helper()
	lcs, err := localcanopy.StartClusters(context.Background(), root, logDir(t), names, managerNamespace)
	if err != nil {
		t.Fatal(err)
	}
	sites := make([]*site, len(names))
	for i, lc := range lcs {
		t.Cleanup(lc.Stop)
		sites[i] = &site{name: names[i], lc: lc}
		if sites[i].c, err = client.New(lc.CP.Config, client.Options{Scheme: setup.NewScheme()}); err != nil {
			t.Fatal(err)
		}
	}
	return sites
}

func (s *site) startManager(t *testing.T, root string, flags ...string) {
	t.Helper()
	m, err := localcanopy.StartManager(root, filepath.Join(logDir(t), s.name), s.lc, flags...)
	if err != nil {
		t.Fatal(err)
	}
	s.mgr = m
	t.Cleanup(m.Stop)
}

var logDirs = map[*testing.T]string{}

// logDir keeps logs in $CANOPY_FLEET_LOGS when set, else a temp dir.
func logDir(t *testing.T) string {
	if d, ok := logDirs[t]; ok {
		return d
	}
	d := os.Getenv("CANOPY_FLEET_LOGS")
	if d == "" {
		d = t.TempDir()
	}
	logDirs[t] = d
	return d
}

// hubKubeconfig returns a kubeconfig for member s as the hub's identity,
// through s's endpoint.
func hubKubeconfig(t *testing.T, s *site) []byte {
	t.Helper()
	u, err := s.lc.CP.AddUser(hubUser, "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	api, err := url.Parse(s.lc.CP.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	s.ep = newEndpoint(t, api.Host)
	kc := clientcmdapi.NewConfig()
	kc.Clusters[s.name] = &clientcmdapi.Cluster{Server: "https://" + s.ep.addr, CertificateAuthorityData: u.CAData}
	kc.AuthInfos[hubUser] = &clientcmdapi.AuthInfo{ClientCertificateData: u.CertData, ClientKeyData: u.KeyData}
	kc.Contexts[s.name] = &clientcmdapi.Context{Cluster: s.name, AuthInfo: hubUser}
	kc.CurrentContext = s.name
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// installClusterProfiles installs the ClusterProfile CRD shipped in the
// cluster-inventory-api module.
func installClusterProfiles(t *testing.T, hub *site) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/cluster-inventory-api").Output()
	if err != nil {
		t.Fatalf("locating sigs.k8s.io/cluster-inventory-api: %v", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases", "multicluster.x-k8s.io_clusterprofiles.yaml")
	if err := controlplane.InstallFiles(context.Background(), hub.c, crd); err != nil {
		t.Fatal(err)
	}
}

// registerByProfile registers member s on the hub with a ClusterProfile
// naming a kubeconfig Secret.
func registerByProfile(t *testing.T, hub, s *site, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: s.name + "-kubeconfig"},
		Data: map[string][]byte{fleet.KubeconfigKey: hubKubeconfig(t, s)}}
	if err := hub.c.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	p := &ciav1.ClusterProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: s.name, Labels: labels,
			Annotations: map[string]string{fleet.AnnotationKubeconfigSecret: sec.Name}},
		Spec: ciav1.ClusterProfileSpec{DisplayName: s.name, ClusterManager: ciav1.ClusterManager{Name: "canopy-e2e"}},
	}
	eventually(t, 30*time.Second, "creating ClusterProfile "+s.name, func() error { return hub.c.Create(ctx, p) })
}

// registerBySecret registers member s with a labelled kubeconfig Secret.
func registerBySecret(t *testing.T, hub, s *site, labels map[string]string) {
	t.Helper()
	l := map[string]string{fleet.LabelMemberSecret: "true"}
	for k, v := range labels {
		l[k] = v
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: managerNamespace, Name: s.name, Labels: l},
		Data: map[string][]byte{fleet.KubeconfigKey: hubKubeconfig(t, s)}}
	if err := hub.c.Create(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
}

// eventually polls f until it returns nil, failing with its last error.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		last = f()
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, last)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
