package fleettest

import (
	"context"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ciav1 "sigs.k8s.io/cluster-inventory-api/apis/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/fleet"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// HubKubeconfig returns a kubeconfig for member s as the hub's identity,
// through s's endpoint.
func HubKubeconfig(t testing.TB, s *Site) []byte {
	t.Helper()
	u, err := s.LC.CP.AddUser(HubUser, "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	api, err := url.Parse(s.LC.CP.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	s.EP = NewEndpoint(t, api.Host)
	kc := clientcmdapi.NewConfig()
	kc.Clusters[s.Name] = &clientcmdapi.Cluster{Server: "https://" + s.EP.Addr, CertificateAuthorityData: u.CAData}
	kc.AuthInfos[HubUser] = &clientcmdapi.AuthInfo{ClientCertificateData: u.CertData, ClientKeyData: u.KeyData}
	kc.Contexts[s.Name] = &clientcmdapi.Context{Cluster: s.Name, AuthInfo: HubUser}
	kc.CurrentContext = s.Name
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// InstallClusterProfiles installs the ClusterProfile CRD shipped in the
// cluster-inventory-api module.
func InstallClusterProfiles(t testing.TB, hub *Site) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/cluster-inventory-api").Output()
	if err != nil {
		t.Fatalf("locating sigs.k8s.io/cluster-inventory-api: %v", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases", "multicluster.x-k8s.io_clusterprofiles.yaml")
	if err := controlplane.InstallFiles(context.Background(), hub.C, crd); err != nil {
		t.Fatal(err)
	}
}

// RegisterByProfile registers member s on the hub with a ClusterProfile
// naming a kubeconfig Secret.
func RegisterByProfile(t testing.TB, hub, s *Site, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ManagerNamespace, Name: s.Name + "-kubeconfig"},
		Data: map[string][]byte{fleet.KubeconfigKey: HubKubeconfig(t, s)}}
	if err := hub.C.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	p := &ciav1.ClusterProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ManagerNamespace, Name: s.Name, Labels: labels,
			Annotations: map[string]string{fleet.AnnotationKubeconfigSecret: sec.Name}},
		Spec: ciav1.ClusterProfileSpec{DisplayName: s.Name, ClusterManager: ciav1.ClusterManager{Name: "canopy-e2e"}},
	}
	Eventually(t, 30*time.Second, "creating ClusterProfile "+s.Name, func() error { return hub.C.Create(ctx, p) })
}

// RegisterBySecret registers member s with a labelled kubeconfig Secret.
func RegisterBySecret(t testing.TB, hub, s *Site, labels map[string]string) {
	t.Helper()
	l := map[string]string{fleet.LabelMemberSecret: "true"}
	for k, v := range labels {
		l[k] = v
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ManagerNamespace, Name: s.Name, Labels: l},
		Data: map[string][]byte{fleet.KubeconfigKey: HubKubeconfig(t, s)}}
	if err := hub.C.Create(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
}

// SetProfileLabel sets label key to value on member name's ClusterProfile
// on the hub.
func SetProfileLabel(t testing.TB, hub *Site, name, key, value string) {
	t.Helper()
	p := &ciav1.ClusterProfile{}
	if err := hub.C.Get(context.Background(), client.ObjectKey{Namespace: ManagerNamespace, Name: name}, p); err != nil {
		t.Fatal(err)
	}
	p.Labels[key] = value
	if err := hub.C.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}
