package cost

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ciav1 "sigs.k8s.io/cluster-inventory-api/apis/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/fleet"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

// The fleet: a hub and two members, each its own control plane. Member A
// runs Canopy's manager in this process (the single-cluster checks use
// it); the hub and member B run bin/canopy-manager. The Tenants are fleet
// Tenants, created on the hub and placed on both members.
const (
	// hubUser is the identity the hub writes members as.
	hubUser = "canopy-hub"
	// financeUser reads chargebacks on the hub (canopy-finance).
	financeUser = "fin"
)

// site is a control plane with bin/canopy-manager running against it.
type site struct {
	name string
	lc   *localcanopy.Cluster
	c    client.Client
	dir  string
}

// startSites starts the hub's and member B's control planes side by side,
// in the background, so that member A's can start beside them; the result
// arrives on the channel.
func startSites(ctx context.Context, dir string) <-chan sitesResult {
	out := make(chan sitesResult, 1)
	go func() {
		var r sitesResult
		defer func() { out <- r }()
		names := []string{"hub", memberB.cluster}
		lcs, err := localcanopy.StartClusters(ctx, framework.RepoRoot(), dir, names, setup.DefaultOptions().Forest.ManagerNamespace)
		if err != nil {
			r.err = err
			return
		}
		for i, lc := range lcs {
			s := &site{name: names[i], lc: lc, dir: filepath.Join(dir, names[i])}
			r.sites = append(r.sites, s)
			if s.c, err = client.New(lc.CP.Config, client.Options{Scheme: setup.NewScheme()}); err != nil {
				r.err = err
			}
		}
	}()
	return out
}

type sitesResult struct {
	sites []*site
	err   error
}

// startManager runs bin/canopy-manager against s with flags added.
func (s *site) startManager(t *testing.T, flags ...string) {
	t.Helper()
	m, err := localcanopy.StartManager(framework.RepoRoot(), s.dir, s.lc, flags...)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	t.Cleanup(m.Stop)
}

// startHub registers the members on the hub, member A by ClusterProfile
// with its OpenCost URL as the property opencost.canopy.dev/url, member B
// by kubeconfig Secret with its URL under opencost-url, then starts the
// hub's manager with --hub and the cost API, and registers that API with
// the hub's kube-apiserver. The hub's own --opencost-url answers nothing:
// a fleet Tenant's chargeback must come from its members' OpenCost alone.
func startHub(ctx context.Context, t *testing.T, hub *site, a, b *controlplane.ControlPlane, urlA, urlB string) {
	t.Helper()
	ns := setup.DefaultOptions().Forest.ManagerNamespace
	installClusterProfiles(ctx, t, hub.c)
	kcA := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: memberA.cluster + "-kubeconfig"},
		Data: map[string][]byte{fleet.KubeconfigKey: hubKubeconfig(t, a, memberA.cluster)}}
	if err := hub.c.Create(ctx, kcA); err != nil {
		t.Fatal(err)
	}
	p := &ciav1.ClusterProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: memberA.cluster,
			Annotations: map[string]string{fleet.AnnotationKubeconfigSecret: kcA.Name}},
		Spec: ciav1.ClusterProfileSpec{DisplayName: memberA.cluster, ClusterManager: ciav1.ClusterManager{Name: "canopy-e2e"}},
	}
	framework.Eventually(t, 30*time.Second, func(ctx context.Context) error { return hub.c.Create(ctx, p) })
	p.Status.Properties = []ciav1.Property{{Name: fleet.PropertyOpenCostURL, Value: urlA, LastObservedTime: metav1.Now()}}
	if err := hub.c.Status().Update(ctx, p); err != nil {
		t.Fatalf("setting %s's OpenCost URL property: %v", memberA.cluster, err)
	}
	if err := hub.c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: memberB.cluster, Labels: map[string]string{fleet.LabelMemberSecret: "true"}},
		Data:       map[string][]byte{fleet.KubeconfigKey: hubKubeconfig(t, b, memberB.cluster), fleet.OpenCostURLKey: []byte(urlB)},
	}); err != nil {
		t.Fatal(err)
	}

	port, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	_, _, certDir := hub.lc.CP.WebhookServing()
	hub.startManager(t, "--hub", "--fleet-registration-interval=2s",
		"--opencost-url=http://127.0.0.1:1", "--cost-currency=USD",
		"--cost-idle-policy=weighted", "--cost-shared-policy=weighted", "--cost-shared-namespace="+sharedNamespace,
		"--cost-api-bind-address="+net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "--cost-api-cert-dir="+certDir)
	root := framework.RepoRoot()
	if err := controlplane.InstallFiles(ctx, hub.c, filepath.Join(root, "config", "rbac", "finance_role.yaml"),
		filepath.Join(root, "config", "costapi", "access_role.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := hub.c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "finance"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "canopy-finance"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: financeUser}},
	}); err != nil {
		t.Fatal(err)
	}
	registerCostAPI(ctx, t, hub.c, ns, port)
}

// createFleetTenants creates the Tenants on the hub, placed on both
// members, and waits until the hub reports both holding each.
func createFleetTenants(ctx context.Context, t *testing.T, hub client.Client) {
	t.Helper()
	for _, tn := range tenants() {
		tn.Spec.Placement = &tenancyv1.TenantPlacement{Clusters: []string{memberA.cluster, memberB.cluster}}
		if err := hub.Create(ctx, tn); err != nil {
			t.Fatalf("creating fleet tenant %s on the hub: %v", tn.Name, err)
		}
	}
	for _, tn := range tenants() {
		framework.Eventually(t, 60*time.Second, func(ctx context.Context) error {
			got := &tenancyv1.Tenant{}
			if err := hub.Get(ctx, client.ObjectKey{Name: tn.Name}, got); err != nil {
				return err
			}
			var placed []string
			for _, c := range got.Status.Clusters {
				placed = append(placed, c.Name)
			}
			if strings.Join(placed, ",") != memberA.cluster+","+memberB.cluster {
				return fmt.Errorf("fleet tenant %s is on %v, want both members", tn.Name, placed)
			}
			return nil
		})
	}
}

// hubKubeconfig returns a kubeconfig for member cp as the hub's identity.
func hubKubeconfig(t *testing.T, cp *controlplane.ControlPlane, name string) []byte {
	t.Helper()
	u, err := cp.AddUser(hubUser, "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: u.Host, CertificateAuthorityData: u.CAData}
	kc.AuthInfos[hubUser] = &clientcmdapi.AuthInfo{ClientCertificateData: u.CertData, ClientKeyData: u.KeyData}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: hubUser}
	kc.CurrentContext = name
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// installClusterProfiles installs the ClusterProfile CRD shipped in the
// cluster-inventory-api module.
func installClusterProfiles(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/cluster-inventory-api").Output()
	if err != nil {
		t.Fatalf("locating sigs.k8s.io/cluster-inventory-api: %v", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases", "multicluster.x-k8s.io_clusterprofiles.yaml")
	if err := controlplane.InstallFiles(ctx, c, crd); err != nil {
		t.Fatal(err)
	}
}

// financeConfig is the hub's finance user.
func financeConfig(t *testing.T, hub *site) *rest.Config {
	t.Helper()
	cfg, err := hub.lc.CP.AddUser(financeUser)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
