package ha

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

const tenantName = "ha-tenant"

// tenantTree returns the Tenant's 49 listed namespaces (seven under the
// root, six under each of those) and each one's depth under the root; with
// the root the tenant has 50.
func tenantTree() ([]tenancyv1.TenantNamespace, map[string]int) {
	var list []tenancyv1.TenantNamespace
	depth := map[string]int{tenantName: 0}
	for i := range 7 {
		p := fmt.Sprintf("%s-p%d", tenantName, i)
		list = append(list, tenancyv1.TenantNamespace{Name: p})
		depth[p] = 1
		for j := range 6 {
			c := fmt.Sprintf("%s-%d", p, j)
			list = append(list, tenancyv1.TenantNamespace{Name: c, Parent: p})
			depth[c] = 2
		}
	}
	return list, depth
}

// killDuringTenant creates a Tenant of 50 namespaces and SIGKILLs leader
// once 25 of them exist; the standby must finish the tree and report the
// Tenant Ready.
func killDuringTenant(t *testing.T, cl *cluster, leader, standby string) figures {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := cl.c
	list, depth := tenantTree()
	nss := newTracker()
	nss.watch(ctx, t, c, &corev1.NamespaceList{}, func(o client.Object) bool { _, ok := depth[o.GetName()]; return ok })
	leases := cl.watchLease(ctx, t)

	tn := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: tenantName},
		Spec: tenancyv1.TenantSpec{
			Owners:     []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: tenantName + "-owners"}},
			Namespaces: list,
		},
	}
	if err := retry(ctx, func(ctx context.Context) error { return c.Create(ctx, tn) }); err != nil {
		t.Fatalf("creating the Tenant: %v", err)
	}
	total, half := len(depth), len(depth)/2
	// The kill must hit the leader; checked now, off the path from the
	// trigger to the kill.
	if h, err := cl.holder(ctx); err != nil || h != leader {
		t.Fatalf("the lease is held by %q (%v), want %s", h, err, leader)
	}
	waitCtx, waitCancel := context.WithTimeout(ctx, 5*time.Minute)
	defer waitCancel()
	if err := nss.waitUntil(waitCtx, func(p map[key]bool) bool { return len(p) >= half }); err != nil {
		t.Fatalf("waiting for %d of the Tenant's %d namespaces: %v", half, total, err)
	}
	atKill := len(nss.snapshot())
	kill := time.Now()
	cl.kill(leader)
	if ev := leases(); len(ev) == 0 || ev[len(ev)-1].holder != leader {
		t.Fatalf("the lease changed hands before the kill: %+v", ev)
	}
	t.Logf("killed %s with %d of the Tenant's %d namespaces created", leader, atKill, total)
	if atKill >= total {
		t.Fatalf("all %d namespaces existed at the kill: the kill came too late to test a takeover", total)
	}

	cl.waitHolder(t, standby, leaseDuration+time.Minute)
	le, err := takeoverAfter(leases(), standby, kill)
	if err != nil {
		t.Fatal(err)
	}
	var ready time.Time
	eventually(t, 5*time.Minute, "the Tenant Ready with its whole tree", func(ctx context.Context) error {
		got := &tenancyv1.Tenant{}
		if err := c.Get(ctx, client.ObjectKey{Name: tenantName}, got); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, tenancyv1.ConditionReady)
		if cond == nil || cond.Status != metav1.ConditionTrue || cond.ObservedGeneration != got.Generation {
			return fmt.Errorf("Ready = %+v at generation %d", cond, got.Generation)
		}
		if ready.IsZero() {
			ready = time.Now()
		}
		return checkTenantTree(ctx, c, depth)
	})
	first, ok := nss.firstWriteAfter(le.rv)
	if !ok {
		t.Fatal("no namespace written after the lease changed hands")
	}
	return figures{
		atKill: atKill, of: total, inFlight: nss.writesBetween(kill, le.rv),
		lease: le.at.Sub(kill), firstWrite: first.at.Sub(kill), converged: ready.Sub(kill),
	}
}

// checkTenantTree checks that every namespace of the Tenant exists, is
// labelled as the Tenant's, and sits at its depth under the root.
func checkTenantTree(ctx context.Context, c client.Client, depth map[string]int) error {
	for name, d := range depth {
		ns := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			return err
		}
		if got := ns.Labels[tenancyv1.LabelTenant]; got != tenantName {
			return fmt.Errorf("namespace %s has tenant label %q", name, got)
		}
		if got := ns.Labels[tenantName+api.LabelTreeDepthSuffix]; got != strconv.Itoa(d) {
			return fmt.Errorf("namespace %s is at depth %q under %s, want %d", name, got, tenantName, d)
		}
	}
	return nil
}
