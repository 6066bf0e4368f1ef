// Package fleet3 runs Canopy's hub with three members, all real processes:
// four control planes (separate kube-apiservers on 127.0.0.1), each with
// its own bin/canopy-manager, the hub's with --hub. It is too slow for
// make test, which runs the two-member test in test/e2e/fleet; make
// test-fleet3 runs it.
package fleet3

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/integration/framework"
	ft "github.com/canopyhq/canopy/test/tools/fleettest"
)

const (
	root = ft.Tenant
	dev  = ft.DevNamespace
)

// TestFleetThreeMembers places a Tenant by label on two of three members,
// fills each member's allocation, moves the label, and stops a member for
// real (its kube-apiserver, kube-controller-manager and manager) and
// restarts it.
func TestFleetThreeMembers(t *testing.T) {
	start := time.Now()
	repo := framework.RepoRoot()
	if _, err := os.Stat(repo + "/bin/canopy-manager"); err != nil {
		t.Fatalf("bin/canopy-manager is missing (run `make build`): %v", err)
	}
	ctx := context.Background()
	sites := ft.StartSites(t, repo, "hub", "member-1", "member-2", "member-3")
	hub, m1, m2, m3 := sites[0], sites[1], sites[2], sites[3]
	ft.InstallClusterProfiles(t, hub)
	ft.RegisterByProfile(t, hub, m1, map[string]string{"region": "eu"})
	ft.RegisterBySecret(t, hub, m2, map[string]string{"region": "eu"})
	ft.RegisterByProfile(t, hub, m3, map[string]string{"region": "us"})
	for _, m := range sites[1:] {
		m.StartManager(t, "--fleet-hub-user="+ft.HubUser)
	}
	hub.StartManager(t, "--hub", "--fleet-registration-interval=2s")
	t.Logf("four control planes and managers up in %s", time.Since(start).Round(time.Second))

	// 9 pods split 2/3/3: room for member-2's share to grow by one later.
	hubTenant := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: root},
		Spec: tenancyv1.TenantSpec{
			Namespaces:     []tenancyv1.TenantNamespace{{Name: dev}},
			Quota:          &tenancyv1.TenantQuota{Hard: ft.Pods("9")},
			DeletionPolicy: tenancyv1.DeletionDelete,
			Placement: &tenancyv1.TenantPlacement{
				ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}},
				Quota: []tenancyv1.ClusterQuota{
					{Cluster: m1.Name, Hard: ft.Pods("2")},
					{Cluster: m2.Name, Hard: ft.Pods("3")},
					{Cluster: m3.Name, Hard: ft.Pods("3")},
				},
			},
		},
	}
	if err := hub.C.Create(ctx, hubTenant); err != nil {
		t.Fatal(err)
	}

	t.Run("placed by label on two of three members", func(t *testing.T) {
		ft.ExpectMember(t, m1, "2")
		ft.ExpectMember(t, m2, "3")
		ft.Eventually(t, 30*time.Second, "the hub reporting member-1 and member-2 synced", func() error {
			return ft.ExpectStatus(hub, map[string]string{m1.Name: tenancyv1.ReasonSynced, m2.Name: tenancyv1.ReasonSynced}, metav1.ConditionTrue)
		})
		ft.ExpectAbsent(t, m3)
	})

	t.Run("each placed member holds its allocation", func(t *testing.T) {
		ft.CreatePods(t, m1, ft.Pod(root, "a"), ft.Pod(dev, "b"))
		ft.ExpectPodDenied(t, m1, ft.Pod(dev, "c"), "2")
		ft.CreatePods(t, m2, ft.Pod(root, "a"), ft.Pod(dev, "b"), ft.Pod(dev, "c"))
		ft.ExpectPodDenied(t, m2, ft.Pod(root, "d"), "3")
	})

	t.Run("moving the label moves the placement and keeps the workloads", func(t *testing.T) {
		moved := time.Now()
		ft.SetProfileLabel(t, hub, m1.Name, "region", "us")
		ft.SetProfileLabel(t, hub, m3.Name, "region", "eu")
		ft.ExpectMember(t, m3, "3")
		ft.Eventually(t, 60*time.Second, "the hub reporting member-2 and member-3 synced and member-1 being removed", func() error {
			return ft.ExpectStatus(hub, map[string]string{
				m1.Name: tenancyv1.ReasonRemoving, m2.Name: tenancyv1.ReasonSynced, m3.Name: tenancyv1.ReasonSynced,
			}, metav1.ConditionTrue)
		})
		t.Logf("member-3 placed %s after the label moved", time.Since(moved).Round(time.Second))
		// deletionPolicy Delete, but member-1's tree holds pods: its
		// manager refuses and keeps every namespace and pod.
		ft.ExpectDeletionBlocked(t, m1, ft.Pod(root, "a"), ft.Pod(dev, "b"))
		ft.CreatePods(t, m3, ft.Pod(root, "a"), ft.Pod(dev, "b"), ft.Pod(dev, "c"))
		ft.ExpectPodDenied(t, m3, ft.Pod(dev, "d"), "3")
	})

	t.Run("without workloads the tree goes under deletionPolicy Delete", func(t *testing.T) {
		emptied := time.Now()
		ft.DeletePods(t, m1, root, dev)
		ft.Eventually(t, 120*time.Second, "member-1's Tenant and namespaces gone", func() error {
			if err := m1.C.Get(ctx, client.ObjectKey{Name: root}, &tenancyv1.Tenant{}); !apierrors.IsNotFound(err) {
				return ft.Errorf("member-1's Tenant: %v", err)
			}
			for _, ns := range []string{root, dev} {
				if err := m1.C.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
					return ft.Errorf("member-1 namespace %s: %v", ns, err)
				}
			}
			return nil
		})
		ft.Eventually(t, 60*time.Second, "the hub no longer reporting member-1", func() error {
			return ft.ExpectStatus(hub, map[string]string{m2.Name: tenancyv1.ReasonSynced, m3.Name: tenancyv1.ReasonSynced}, metav1.ConditionTrue)
		})
		t.Logf("member-1's tree deleted %s after its pods went", time.Since(emptied).Round(time.Second))
	})

	t.Run("a stopped member is reported and converges once restarted", func(t *testing.T) {
		m2.Stop(t)
		stopped := time.Now()
		ft.Eventually(t, 60*time.Second, "the hub reporting member-2 unreachable", func() error {
			return ft.ExpectAvailable(hub, m2.Name, metav1.ConditionFalse, tenancyv1.ReasonUnreachable)
		})
		t.Logf("member-2 reported unreachable %s after it stopped", time.Since(stopped).Round(time.Second))
		cur := &tenancyv1.Tenant{}
		if err := hub.C.Get(ctx, client.ObjectKey{Name: root}, cur); err != nil {
			t.Fatal(err)
		}
		cur.Spec.Placement.Quota[1].Hard = ft.Pods("4")
		if err := hub.C.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
		// At the new generation: member-2 still listed, with its last
		// namespaces; member-3 untouched and synced.
		ft.Eventually(t, 60*time.Second, "the hub reporting member-2 unreachable and member-3 synced", func() error {
			if err := ft.ExpectStatus(hub, map[string]string{m2.Name: tenancyv1.ReasonUnreachable, m3.Name: tenancyv1.ReasonSynced}, metav1.ConditionFalse); err != nil {
				return err
			}
			if err := ft.ExpectAvailable(hub, m3.Name, metav1.ConditionTrue, tenancyv1.ReasonReachable); err != nil {
				return err
			}
			return lastSeen(ctx, hub, m2.Name)
		})
		ft.ExpectMemberQuota(t, m3, "3", 0)

		m2.Restart(t)
		back := time.Now()
		ft.ExpectMember(t, m2, "4")
		ft.Eventually(t, 60*time.Second, "the hub reporting member-2 available and synced", func() error {
			if err := ft.ExpectAvailable(hub, m2.Name, metav1.ConditionTrue, tenancyv1.ReasonReachable); err != nil {
				return err
			}
			return ft.ExpectStatus(hub, map[string]string{m2.Name: tenancyv1.ReasonSynced, m3.Name: tenancyv1.ReasonSynced}, metav1.ConditionTrue)
		})
		t.Logf("member-2 converged %s after its restart", time.Since(back).Round(time.Second))
		// Its pods survived the stop; the new allocation admits one more.
		for _, p := range []*corev1.Pod{ft.Pod(root, "a"), ft.Pod(dev, "b"), ft.Pod(dev, "c")} {
			if err := m2.C.Get(ctx, client.ObjectKeyFromObject(p), &corev1.Pod{}); err != nil {
				t.Errorf("member-2's pod %s/%s after the restart: %v", p.Namespace, p.Name, err)
			}
		}
		ft.CreatePods(t, m2, ft.Pod(root, "d"))
		ft.ExpectPodDenied(t, m2, ft.Pod(dev, "e"), "4")
	})
	t.Logf("three-member fleet test took %s", time.Since(start).Round(time.Second))
}

// lastSeen checks that the hub still reports member name's namespaces and
// quota, as last read.
func lastSeen(ctx context.Context, hub *ft.Site, name string) error {
	cur := &tenancyv1.Tenant{}
	if err := hub.C.Get(ctx, client.ObjectKey{Name: root}, cur); err != nil {
		return err
	}
	for _, c := range cur.Status.Clusters {
		if c.Name == name {
			if !slices.Contains(c.Namespaces, dev) || c.QuotaHard == nil {
				return ft.Errorf("cluster %s: namespaces %v, quota %v, want the last seen", name, c.Namespaces, c.QuotaHard)
			}
			return nil
		}
	}
	return ft.Errorf("cluster %s not in status", name)
}
