package isolation

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// TestAdminsCannotDeleteTheirWayOutOfTheTree is issue 11, item 3: an
// admin of a namespace inside a tenant deleted its HierarchyConfiguration,
// which made the namespace a root outside the tenant's quota, chargeback
// and policies. Deleting it is judged like the move to no parent it is;
// deleting the namespace itself (termination) still works.
func TestAdminsCannotDeleteTheirWayOutOfTheTree(t *testing.T) {
	ctx := context.Background()
	tenant(t, "escape", nil, "escape-sub")
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "escape-full"}}); err != nil {
		t.Fatal(err)
	}
	// The platform team puts a full namespace into the tree.
	eventually(t, wait, func(ctx context.Context) error {
		hc := &hncv1.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "escape-full", Name: hncv1.Singleton}}
		hc.Spec.Parent = "escape"
		return client.IgnoreAlreadyExists(admin(t).Create(ctx, hc))
	})
	waitLabel(t, "escape-full", tenancyv1.LabelTenant, "escape")
	alice := lead(t, "alice", "escape-leads")
	// The lead administers both namespaces (the owners' binding reached
	// them), so only the webhooks stand in the way.
	eventually(t, wait, func(ctx context.Context) error {
		return alice.Get(ctx, client.ObjectKey{Namespace: "escape-full", Name: hncv1.Singleton}, &hncv1.HierarchyConfiguration{})
	})
	del := func(ns string) error {
		return alice.Delete(ctx, &hncv1.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: hncv1.Singleton}})
	}
	expectDenied(t, "lead deletes a full namespace's HierarchyConfiguration", del("escape-full"),
		`namespace "escape-full" belongs to tenant "escape": deleting its HierarchyConfiguration would make it a root`)
	expectDenied(t, "lead deletes a subnamespace's HierarchyConfiguration", del("escape-sub"), "HierarchyConfiguration")

	for _, ns := range []string{"escape-full", "escape-sub"} {
		hc := hierarchy(t, env.Client, ns)
		if hc.Spec.Parent != "escape" {
			t.Errorf("namespace %s has parent %q, want escape", ns, hc.Spec.Parent)
		}
		waitLabel(t, ns, tenancyv1.LabelTenant, "escape")
	}

	// The namespace controller still empties a namespace being deleted.
	if err := admin(t).Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "escape-full"}}); err != nil {
		t.Fatalf("the platform team could not delete the full namespace: %v", err)
	}
	waitGone(t, "escape-full")
}

// TestNoQuotaOvershootThroughALeafsHierarchy is issue 11, suspected item
// B: deleting a leaf's HierarchyConfiguration made the leaf a root for a
// moment, outside the tenant quota. The lead tries it over and over while
// creating pods in the leaf; every delete is refused and the tree never
// holds more pods than the quota allows.
func TestNoQuotaOvershootThroughALeafsHierarchy(t *testing.T) {
	ctx := context.Background()
	const limit = 2
	tenant(t, "qb", func(tn *tenancyv1.Tenant) {
		tn.Spec.Quota = &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse(fmt.Sprint(limit))}}
	}, "qb-leaf")
	eventually(t, wait, func(ctx context.Context) error {
		q := &tenancyv1.HierarchicalQuota{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "qb", Name: tenantctrl.QuotaName}, q); err != nil {
			return err
		}
		if _, ok := q.Status.Hard[corev1.ResourcePods]; !ok {
			return fmt.Errorf("tenant quota not enforced yet: %+v", q.Status)
		}
		return nil
	})
	alice := lead(t, "alice", "qb-leads")
	var (
		stop     atomic.Bool
		allowed  atomic.Int32
		attempts atomic.Int32
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			attempts.Add(1)
			err := alice.Delete(ctx, &hncv1.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "qb-leaf", Name: hncv1.Singleton}})
			if err == nil {
				allowed.Add(1)
			}
		}
	}()
	created := 0
	for i := range 3 * limit {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "qb-leaf", Name: fmt.Sprintf("p%d", i)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/app:1"}}}}
		if err := alice.Create(ctx, p); err == nil {
			created++
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := allowed.Load(); n > 0 {
		t.Errorf("%d of %d deletes of the leaf's HierarchyConfiguration were allowed", n, attempts.Load())
	}
	pods := 0
	for _, ns := range []string{"qb", "qb-leaf"} {
		l := &corev1.PodList{}
		if err := env.Client.List(ctx, l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		pods += len(l.Items)
	}
	if created > limit || pods > limit {
		t.Errorf("the lead created %d pods and the tree holds %d; the tenant quota is %d", created, pods, limit)
	}
	if created != limit {
		t.Errorf("the lead created %d pods, want exactly the quota's %d (the quota refuses nothing that fits)", created, limit)
	}
}
