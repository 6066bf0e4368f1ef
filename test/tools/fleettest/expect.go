package fleettest

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// Tenant is the fleet Tenant the tests place; DevNamespace is the one
// namespace it declares under its root.
const (
	Tenant       = "shop"
	DevNamespace = "shop-dev"
)

// Pods is a resource list of n pods.
func Pods(n string) corev1.ResourceList { return corev1.ResourceList{"pods": resource.MustParse(n)} }

// ExpectMember waits until member s holds the hub-managed Tenant with a
// quota of podQuota pods, expanded (both namespaces) and enforced (the
// tenant quota at its root has that hard limit).
func ExpectMember(t testing.TB, s *Site, podQuota string) {
	t.Helper()
	ExpectMemberQuota(t, s, podQuota, 90*time.Second)
	Eventually(t, 90*time.Second, s.Name+" expanding and enforcing the Tenant", func() error {
		ctx := context.Background()
		for _, ns := range []string{Tenant, DevNamespace} {
			if err := s.C.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); err != nil {
				return err
			}
		}
		q := &tenancyv1.HierarchicalQuota{}
		if err := s.C.Get(ctx, client.ObjectKey{Namespace: Tenant, Name: "tenant-quota"}, q); err != nil {
			return err
		}
		if got, want := q.Spec.Hard["pods"], resource.MustParse(podQuota); got.Cmp(want) != 0 {
			return Errorf("tenant quota enforces %s pods, want %s", got.String(), podQuota)
		}
		return nil
	})
}

// ExpectMemberQuota checks member s's Tenant: hub-managed, carrying
// podQuota pods. With wait 0 it checks once, now.
func ExpectMemberQuota(t testing.TB, s *Site, podQuota string, wait time.Duration) {
	t.Helper()
	check := func() error {
		cur := &tenancyv1.Tenant{}
		if err := s.C.Get(context.Background(), client.ObjectKey{Name: Tenant}, cur); err != nil {
			return err
		}
		if cur.Labels[tenancyv1.LabelManagedBy] != tenancyv1.ManagedByHub {
			return Errorf("not labelled managed by the hub: %v", cur.Labels)
		}
		if cur.Spec.Placement != nil || cur.Spec.Quota == nil {
			return Errorf("member Tenant spec: placement %v, quota %v", cur.Spec.Placement, cur.Spec.Quota)
		}
		if got, want := cur.Spec.Quota.Hard["pods"], resource.MustParse(podQuota); got.Cmp(want) != 0 {
			return Errorf("allocation of %s pods, want %s", got.String(), podQuota)
		}
		return nil
	}
	if wait == 0 {
		if err := check(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		return
	}
	Eventually(t, wait, s.Name+" holding its allocation of "+podQuota+" pods", check)
}

// ExpectAbsent checks that member s holds no Tenant of that name.
func ExpectAbsent(t testing.TB, s *Site) {
	t.Helper()
	if err := s.C.Get(context.Background(), client.ObjectKey{Name: Tenant}, &tenancyv1.Tenant{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s holds the Tenant it is not placed on: %v", s.Name, err)
	}
}

// ExpectStatus checks the hub Tenant's status.clusters: exactly the
// clusters given, each with that Synced reason, and the Placed status,
// observed at the current generation.
func ExpectStatus(hub *Site, synced map[string]string, placed metav1.ConditionStatus) error {
	cur := &tenancyv1.Tenant{}
	if err := hub.C.Get(context.Background(), client.ObjectKey{Name: Tenant}, cur); err != nil {
		return err
	}
	var names []string
	for _, c := range cur.Status.Clusters {
		names = append(names, c.Name)
		want, ok := synced[c.Name]
		if !ok {
			return Errorf("status reports cluster %s", c.Name)
		}
		if s := meta.FindStatusCondition(c.Conditions, tenancyv1.ConditionSynced); s == nil || s.Reason != want {
			return Errorf("cluster %s: Synced = %+v, want reason %s", c.Name, s, want)
		}
		if want == tenancyv1.ReasonSynced && (!slices.Contains(c.Namespaces, DevNamespace) || c.QuotaHard == nil) {
			return Errorf("cluster %s: namespaces %v, quota %v", c.Name, c.Namespaces, c.QuotaHard)
		}
	}
	if len(names) != len(synced) {
		return Errorf("status reports clusters %v, want %d", names, len(synced))
	}
	p := meta.FindStatusCondition(cur.Status.Conditions, tenancyv1.ConditionPlaced)
	if p == nil || p.Status != placed || p.ObservedGeneration != cur.Generation {
		return Errorf("Placed = %+v, want %s at generation %d", p, placed, cur.Generation)
	}
	return nil
}

// ExpectAvailable checks cluster name's Available condition on the hub.
func ExpectAvailable(hub *Site, name string, status metav1.ConditionStatus, reason string) error {
	cur := &tenancyv1.Tenant{}
	if err := hub.C.Get(context.Background(), client.ObjectKey{Name: Tenant}, cur); err != nil {
		return err
	}
	for _, c := range cur.Status.Clusters {
		if c.Name != name {
			continue
		}
		a := meta.FindStatusCondition(c.Conditions, tenancyv1.ConditionAvailable)
		if a == nil || a.Status != status || a.Reason != reason {
			return Errorf("cluster %s: Available = %+v, want %s/%s", name, a, status, reason)
		}
		return nil
	}
	return Errorf("cluster %s not in status", name)
}

// ExpectDeletionBlocked waits until member s's Tenant is being deleted and
// refuses (Ready=False, DeletionBlocked, as deletionPolicy Delete does
// while the tree holds workloads), then checks that the root and
// DevNamespace are still there, not being deleted, and so is every pod.
func ExpectDeletionBlocked(t testing.TB, s *Site, pods ...*corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	Eventually(t, 30*time.Second, s.Name+"'s Tenant refusing deletion", func() error {
		cur := &tenancyv1.Tenant{}
		if err := s.C.Get(ctx, client.ObjectKey{Name: Tenant}, cur); err != nil {
			return err
		}
		if cur.DeletionTimestamp == nil {
			return Errorf("not being deleted")
		}
		if c := meta.FindStatusCondition(cur.Status.Conditions, tenancyv1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse || c.Reason != "DeletionBlocked" {
			return Errorf("Ready = %+v, want False, reason DeletionBlocked", c)
		}
		return nil
	})
	for _, ns := range []string{Tenant, DevNamespace} {
		n := &corev1.Namespace{}
		if err := s.C.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil || n.DeletionTimestamp != nil {
			t.Errorf("%s: namespace %s of a tree holding workloads: err=%v deleting=%v", s.Name, ns, err, n.DeletionTimestamp)
		}
	}
	for _, p := range pods {
		if err := s.C.Get(ctx, client.ObjectKeyFromObject(p), &corev1.Pod{}); err != nil {
			t.Errorf("%s: workload %s/%s: %v", s.Name, p.Namespace, p.Name, err)
		}
	}
}
