package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ciav1 "sigs.k8s.io/cluster-inventory-api/apis/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/internal/fleet"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/tools/controlplane"
	"github.com/canopyhq/canopy/test/tools/localcanopy"
)

// The fleet demo (CANOPY_DEMO_FLEET=1 make demo): a hub and three member
// control planes, each with its own canopy-manager, and one Tenant placed
// on all three members with its quota split across them.
const (
	fleetEnv     = "CANOPY_DEMO_FLEET"
	fleetHubUser = "canopy-hub"
	fleetNS      = "canopy-system"
	fleetTenant  = "shop"
)

type fleetSite struct {
	name string
	lc   *localcanopy.Cluster
	c    client.Client
}

func runFleet(root, dir string, once bool) error {
	names := []string{"hub", "member-1", "member-2", "member-3"}
	fmt.Println("Starting a hub and three member control planes ...")
	lcs, err := localcanopy.StartClusters(context.Background(), root, dir, names, fleetNS)
	if err != nil {
		return err
	}
	sites := make([]*fleetSite, len(names))
	for i, lc := range lcs {
		defer lc.Stop()
		sites[i] = &fleetSite{name: names[i], lc: lc}
		if sites[i].c, err = client.New(lc.CP.Config, client.Options{Scheme: setup.NewScheme()}); err != nil {
			return err
		}
	}
	hub, members := sites[0], sites[1:]
	ctx := context.Background()
	if err := installClusterProfileCRD(ctx, hub); err != nil {
		return err
	}
	// member-1 and member-2 by ClusterProfile, member-3 by kubeconfig Secret;
	// all labelled for the Tenant's selector.
	for i, m := range members {
		kc, err := fleetKubeconfig(m)
		if err != nil {
			return err
		}
		labels := map[string]string{"demo": "fleet", "region": []string{"eu", "eu", "us"}[i]}
		if err := registerMember(ctx, hub, m, labels, kc, i < 2); err != nil {
			return err
		}
	}
	var mgrs []*localcanopy.Manager
	defer func() {
		for _, m := range mgrs {
			m.Stop()
		}
	}()
	for _, m := range members {
		mgr, err := localcanopy.StartManager(root, filepath.Join(dir, m.name), m.lc, "--fleet-hub-user="+fleetHubUser)
		if err != nil {
			return fmt.Errorf("starting %s's manager: %w", m.name, err)
		}
		mgrs = append(mgrs, mgr)
	}
	hubMgr, err := localcanopy.StartManager(root, filepath.Join(dir, hub.name), hub.lc, "--hub", "--fleet-registration-interval=2s")
	if err != nil {
		return fmt.Errorf("starting the hub's manager: %w", err)
	}
	mgrs = append(mgrs, hubMgr)

	pods := func(n string) corev1.ResourceList { return corev1.ResourceList{"pods": resource.MustParse(n)} }
	t := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: fleetTenant},
		Spec: tenancyv1.TenantSpec{
			Namespaces:     []tenancyv1.TenantNamespace{{Name: fleetTenant + "-web"}},
			Quota:          &tenancyv1.TenantQuota{Hard: pods("30")},
			DeletionPolicy: tenancyv1.DeletionRetain,
			Placement: &tenancyv1.TenantPlacement{
				ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"demo": "fleet"}},
				Quota: []tenancyv1.ClusterQuota{
					{Cluster: "member-1", Hard: pods("10")}, {Cluster: "member-2", Hard: pods("10")}, {Cluster: "member-3", Hard: pods("10")},
				},
			},
		},
	}
	fmt.Printf("\nCreating Tenant %s on the hub, placed on every member labelled demo=fleet, 10 of its 30 pods each ...\n", fleetTenant)
	if err := hub.c.Create(ctx, t); err != nil {
		return fmt.Errorf("creating the fleet Tenant: %w", err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		cur := &tenancyv1.Tenant{}
		if err := hub.c.Get(ctx, client.ObjectKey{Name: fleetTenant}, cur); err != nil {
			return false, nil
		}
		return meta.IsStatusConditionTrue(cur.Status.Conditions, tenancyv1.ConditionPlaced), nil
	}); err != nil {
		return fmt.Errorf("the Tenant was not Placed on all three members within 3 minutes (logs under %s): %w", dir, err)
	}

	hubKubeconfig := hub.lc.Kubeconfig
	plugin := func(args ...string) {
		cmd := exec.Command(filepath.Join(root, "bin", "kubectl-canopy"), append([]string{"--kubeconfig=" + hubKubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "kubectl-canopy:", err)
		}
	}
	fmt.Println("\nOn the hub, kubectl canopy tenant list:")
	plugin("tenant", "list")
	fmt.Println("\nOn the hub, kubectl canopy tree --all-clusters:")
	plugin("tree", "--all-clusters")
	for _, m := range members {
		q := &tenancyv1.HierarchicalQuota{}
		hard := "(not yet)"
		if err := m.c.Get(ctx, client.ObjectKey{Namespace: fleetTenant, Name: tenantctrl.QuotaName}, q); err == nil {
			hard = q.Spec.Hard.Pods().String() + " pods"
		}
		fmt.Printf("  %s enforces its own share: %s\n", m.name, hard)
	}

	var kcs []string
	for _, s := range sites {
		kcs = append(kcs, fmt.Sprintf("  %-9s %s", s.name, s.lc.Kubeconfig))
	}
	fmt.Printf("\nThe fleet is running. Kubeconfigs:\n%s\nLogs: %s\n", strings.Join(kcs, "\n"), dir)
	if once {
		return nil
	}
	fmt.Println("\nPress Ctrl-C to stop.")
	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-sig.Done():
		fmt.Println("\nStopping ...")
		return nil
	case <-hubMgr.Exited():
		return fmt.Errorf("the hub's canopy-manager exited: %v", hubMgr.Err())
	}
}

func installClusterProfileCRD(ctx context.Context, hub *fleetSite) error {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/cluster-inventory-api").Output()
	if err != nil {
		return fmt.Errorf("locating sigs.k8s.io/cluster-inventory-api: %w", err)
	}
	crd := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases", "multicluster.x-k8s.io_clusterprofiles.yaml")
	return controlplane.InstallFiles(ctx, hub.c, crd)
}

// fleetKubeconfig is member m's kubeconfig as the hub's identity, the user
// its manager trusts with --fleet-hub-user.
func fleetKubeconfig(m *fleetSite) ([]byte, error) {
	u, err := m.lc.CP.AddUser(fleetHubUser, "system:masters")
	if err != nil {
		return nil, err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters[m.name] = &clientcmdapi.Cluster{Server: m.lc.CP.Config.Host, CertificateAuthorityData: u.CAData}
	kc.AuthInfos[fleetHubUser] = &clientcmdapi.AuthInfo{ClientCertificateData: u.CertData, ClientKeyData: u.KeyData}
	kc.Contexts[m.name] = &clientcmdapi.Context{Cluster: m.name, AuthInfo: fleetHubUser}
	kc.CurrentContext = m.name
	return clientcmd.Write(*kc)
}

func registerMember(ctx context.Context, hub, m *fleetSite, labels map[string]string, kc []byte, byProfile bool) error {
	if !byProfile {
		l := map[string]string{fleet.LabelMemberSecret: "true"}
		for k, v := range labels {
			l[k] = v
		}
		return hub.c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fleetNS, Name: m.name, Labels: l},
			Data: map[string][]byte{fleet.KubeconfigKey: kc}})
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fleetNS, Name: m.name + "-kubeconfig"},
		Data: map[string][]byte{fleet.KubeconfigKey: kc}}
	if err := hub.c.Create(ctx, sec); err != nil {
		return err
	}
	p := &ciav1.ClusterProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: fleetNS, Name: m.name, Labels: labels,
			Annotations: map[string]string{fleet.AnnotationKubeconfigSecret: sec.Name}},
		Spec: ciav1.ClusterProfileSpec{DisplayName: m.name, ClusterManager: ciav1.ClusterManager{Name: "canopy-demo"}},
	}
	// The CRD was just installed: retry until it is served.
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return hub.c.Create(ctx, p) == nil, nil
	})
}
