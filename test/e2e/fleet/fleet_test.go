// Package fleet runs Canopy's hub against member clusters, all real
// processes: a hub control plane and two member control planes (separate
// kube-apiservers on 127.0.0.1), each with its own bin/canopy-manager, the
// hub's with --hub. One member registers by ClusterProfile, the other by
// kubeconfig Secret; the hub reaches each through an endpoint the test can
// take down. The helpers are in test/tools/fleettest, shared with the
// three-member test in test/e2e/fleet3.
package fleet

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/integration/framework"
	ft "github.com/canopyhq/canopy/test/tools/fleettest"
)

const (
	tenant = ft.Tenant
	// lead owns the Tenant; feature is the subnamespace they create.
	lead    = "lead"
	feature = "shop-dev-feature"
)

var pods = ft.Pods

// TestFleet places one Tenant by label, moves it, cuts a member off and
// brings it back.
func TestFleet(t *testing.T) {
	start := time.Now()
	root := framework.RepoRoot()
	if _, err := os.Stat(root + "/bin/canopy-manager"); err != nil {
		t.Fatalf("bin/canopy-manager is missing (run `make build`): %v", err)
	}
	ctx := context.Background()
	sites := ft.StartSites(t, root, "hub", "member-1", "member-2")
	hub, m1, m2 := sites[0], sites[1], sites[2]
	ft.InstallClusterProfiles(t, hub)
	ft.RegisterByProfile(t, hub, m1, map[string]string{"region": "eu"})
	ft.RegisterBySecret(t, hub, m2, map[string]string{"region": "us"})
	for _, m := range []*ft.Site{m1, m2} {
		m.StartManager(t, "--fleet-hub-user="+ft.HubUser)
	}
	hub.StartManager(t, "--hub", "--fleet-registration-interval=2s")
	t.Logf("three control planes and managers up in %s", time.Since(start).Round(time.Second))

	hubTenant := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: tenant},
		Spec: tenancyv1.TenantSpec{
			Namespaces:     []tenancyv1.TenantNamespace{{Name: ft.DevNamespace}},
			Owners:         []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: lead}},
			Quota:          &tenancyv1.TenantQuota{Hard: pods("10")},
			DeletionPolicy: tenancyv1.DeletionDelete,
			Placement: &tenancyv1.TenantPlacement{
				ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"region": "eu"}},
				Quota: []tenancyv1.ClusterQuota{
					{Cluster: m1.Name, Hard: pods("4")},
					{Cluster: m2.Name, Hard: pods("6")},
				},
			},
		},
	}
	over := hubTenant.DeepCopy()
	over.Spec.Placement.Quota[1].Hard = pods("7")
	if err := hub.C.Create(ctx, over); err == nil || !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) {
		t.Fatalf("a split of 4+7 pods under a quota of 10 was admitted: %v", err)
	}
	if err := hub.C.Create(ctx, hubTenant); err != nil {
		t.Fatal(err)
	}

	t.Run("placed by label on member 1 only", func(t *testing.T) {
		ft.ExpectMember(t, m1, "4")
		ft.Eventually(t, 30*time.Second, "the hub reporting member-1 synced", func() error {
			return ft.ExpectStatus(hub, map[string]string{m1.Name: tenancyv1.ReasonSynced}, metav1.ConditionTrue)
		})
		ft.ExpectAbsent(t, m2)
		if err := hub.C.Get(ctx, client.ObjectKey{Name: tenant}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
			t.Errorf("the hub expanded its own fleet Tenant: namespace %q: %v", tenant, err)
		}
	})

	t.Run("a team lead's subnamespace stays local and the hub reports it", func(t *testing.T) {
		// The Tenant's owner, with their own credentials on member-1 and
		// no other grant there.
		cfg, err := m1.LC.CP.AddUser(lead)
		if err != nil {
			t.Fatal(err)
		}
		asLead, err := client.New(cfg, client.Options{Scheme: m1.C.Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		anchor := &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: ft.DevNamespace, Name: feature}}
		ft.Eventually(t, 30*time.Second, "the lead creating a subnamespace of "+ft.DevNamespace+" on member-1", func() error {
			return asLead.Create(ctx, anchor.DeepCopy())
		})
		ft.Eventually(t, 30*time.Second, "namespace "+feature+" on member-1", func() error {
			return m1.C.Get(ctx, client.ObjectKey{Name: feature}, &corev1.Namespace{})
		})
		ft.Eventually(t, 30*time.Second, "the hub listing "+feature+" in member-1's namespaces", func() error {
			cur := &tenancyv1.Tenant{}
			if err := hub.C.Get(ctx, client.ObjectKey{Name: tenant}, cur); err != nil {
				return err
			}
			for _, c := range cur.Status.Clusters {
				if c.Name == m1.Name && slices.Contains(c.Namespaces, feature) {
					return nil
				}
			}
			return ft.Errorf("status.clusters = %+v", cur.Status.Clusters)
		})
		// It stays local: neither the hub nor member-2 gets it, and the
		// hub's Tenant is unchanged.
		for _, s := range []*ft.Site{hub, m2} {
			if err := s.C.Get(ctx, client.ObjectKey{Name: feature}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s has namespace %s: %v", s.Name, feature, err)
			}
		}
		// The lead cannot leave the tree: no subnamespace of a namespace
		// outside it.
		outside := &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "escape"}}
		if err := asLead.Create(ctx, outside); !apierrors.IsForbidden(err) {
			t.Errorf("the lead created a subnamespace of default on member-1: %v", err)
		}
	})

	t.Run("local edits of a hub-managed Tenant are denied", func(t *testing.T) {
		// A cluster admin of member-1 who is neither the hub nor the manager.
		cfg, err := m1.LC.CP.AddUser("member-admin", "system:masters")
		if err != nil {
			t.Fatal(err)
		}
		local, err := client.New(cfg, client.Options{Scheme: m1.C.Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		cur := &tenancyv1.Tenant{}
		if err := local.Get(ctx, client.ObjectKey{Name: tenant}, cur); err != nil {
			t.Fatal(err)
		}
		cur.Spec.Quota = &tenancyv1.TenantQuota{Hard: pods("100")}
		if err := local.Update(ctx, cur); err == nil || !apierrors.IsForbidden(err) {
			t.Errorf("member-1's admin raised the hub's allocation: %v", err)
		}
		if err := local.Delete(ctx, cur); err == nil || !apierrors.IsForbidden(err) {
			t.Errorf("member-1's admin deleted the hub's Tenant: %v", err)
		}
	})

	// A workload in member-1's tree: under deletionPolicy Delete the
	// member's manager refuses to delete a tree that holds one.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ft.DevNamespace, Name: "work"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}}
	ft.Eventually(t, 60*time.Second, "creating a pod in member-1's shop-dev", func() error { return m1.C.Create(ctx, pod) })

	t.Run("moving the label moves the placement and keeps the workload", func(t *testing.T) {
		moved := time.Now()
		ft.SetProfileLabel(t, hub, m1.Name, "region", "us")
		s := &corev1.Secret{}
		if err := hub.C.Get(ctx, client.ObjectKey{Namespace: ft.ManagerNamespace, Name: m2.Name}, s); err != nil {
			t.Fatal(err)
		}
		s.Labels["region"] = "eu"
		if err := hub.C.Update(ctx, s); err != nil {
			t.Fatal(err)
		}
		ft.ExpectMember(t, m2, "6")
		ft.Eventually(t, 60*time.Second, "the hub reporting member-2 synced and member-1 being removed", func() error {
			return ft.ExpectStatus(hub, map[string]string{m1.Name: tenancyv1.ReasonRemoving, m2.Name: tenancyv1.ReasonSynced}, metav1.ConditionTrue)
		})
		ft.ExpectDeletionBlocked(t, m1, pod)
		t.Logf("placement moved in %s", time.Since(moved).Round(time.Second))
	})

	t.Run("an unreachable member is reported and converges when back", func(t *testing.T) {
		m2.EP.Down()
		cut := time.Now()
		ft.Eventually(t, 60*time.Second, "the hub reporting member-2 unreachable", func() error {
			return ft.ExpectAvailable(hub, m2.Name, metav1.ConditionFalse, tenancyv1.ReasonUnreachable)
		})
		t.Logf("member-2 reported unreachable %s after its endpoint went down", time.Since(cut).Round(time.Second))
		cur := &tenancyv1.Tenant{}
		if err := hub.C.Get(ctx, client.ObjectKey{Name: tenant}, cur); err != nil {
			t.Fatal(err)
		}
		cur.Spec.Placement.Quota[1].Hard = pods("5")
		if err := hub.C.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
		// While it is unreachable nothing changes in it.
		ft.ExpectMemberQuota(t, m2, "6", 0)
		m2.EP.Up(t)
		back := time.Now()
		ft.ExpectMember(t, m2, "5")
		ft.Eventually(t, 60*time.Second, "the hub reporting member-2 available and synced", func() error {
			if err := ft.ExpectAvailable(hub, m2.Name, metav1.ConditionTrue, tenancyv1.ReasonReachable); err != nil {
				return err
			}
			return ft.ExpectStatus(hub, map[string]string{m1.Name: tenancyv1.ReasonRemoving, m2.Name: tenancyv1.ReasonSynced}, metav1.ConditionTrue)
		})
		t.Logf("member-2 converged %s after its endpoint came back", time.Since(back).Round(time.Second))
	})
	t.Logf("fleet test took %s", time.Since(start).Round(time.Second))
}
