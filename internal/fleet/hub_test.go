package fleet

import (
	"context"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// These tests drive the hub reconciler against a fake hub client and a
// provider whose members are registered but never connected: every member
// is unreachable, which is the case the hub must report and never act on.
// Reaching real members is test/e2e/fleet's job.

func hubFor(t *testing.T, objs ...client.Object) (*Hub, client.Client) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...).WithStatusSubresource(&tenancyv1.Tenant{}).Build()
	return &Hub{Client: c, Provider: unstartedProvider(t)}, c
}

func fleetTenant(name string, clusters ...string) *tenancyv1.Tenant {
	return &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
		Spec:       tenancyv1.TenantSpec{Placement: &tenancyv1.TenantPlacement{Clusters: clusters}},
	}
}

func reconcileHub(t *testing.T, h *Hub, name string) ctrl.Result {
	t.Helper()
	res, err := h.Reconcile(context.Background(), mcreconcile.Request{Request: ctrl.Request{NamespacedName: client.ObjectKey{Name: name}}})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return res
}

func getTenant(t *testing.T, c client.Client, name string) *tenancyv1.Tenant {
	t.Helper()
	got := &tenancyv1.Tenant{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestHubReportsUnreachableMembers(t *testing.T) {
	h, c := hubFor(t, fleetTenant("acme", "registered", "unregistered"))
	_ = h.Provider.Upsert(context.Background(), sourceSecret, "registered", nil, []byte("kc"))

	res := reconcileHub(t, h, "acme")
	if res.RequeueAfter != unreachableAfter {
		t.Errorf("RequeueAfter = %v, want %v while a member is unreachable", res.RequeueAfter, unreachableAfter)
	}
	got := getTenant(t, c, "acme")
	if !slices.Contains(got.Finalizers, tenancyv1.FinalizerFleet) {
		t.Errorf("finalizers = %v, want %s", got.Finalizers, tenancyv1.FinalizerFleet)
	}
	wantWhy := map[string]string{
		"registered":   "not connected yet",
		"unregistered": "no ClusterProfile or kubeconfig Secret registers this cluster",
	}
	if len(got.Status.Clusters) != len(wantWhy) {
		t.Fatalf("status.clusters = %+v, want one entry per placed cluster", got.Status.Clusters)
	}
	for _, cs := range got.Status.Clusters {
		avail := meta.FindStatusCondition(cs.Conditions, tenancyv1.ConditionAvailable)
		if avail == nil || avail.Status != metav1.ConditionFalse || avail.Reason != tenancyv1.ReasonUnreachable || avail.Message != wantWhy[cs.Name] {
			t.Errorf("cluster %s Available = %+v, want False, %s, %q", cs.Name, avail, tenancyv1.ReasonUnreachable, wantWhy[cs.Name])
		}
	}
	placed := meta.FindStatusCondition(got.Status.Conditions, tenancyv1.ConditionPlaced)
	if placed == nil || placed.Status != metav1.ConditionFalse || placed.ObservedGeneration != 1 {
		t.Errorf("Placed = %+v, want False at generation 1", placed)
	}
}

func TestHubKeepsReportingAnUnreachableMemberItNoLongerSelects(t *testing.T) {
	tn := fleetTenant("acme", "old")
	h, c := hubFor(t, tn)
	_ = h.Provider.Upsert(context.Background(), sourceSecret, "old", nil, []byte("kc"))
	reconcileHub(t, h, "acme")

	// The placement moves away from "old" while it is unreachable: it
	// stays in status (being removed), never silently dropped.
	cur := getTenant(t, c, "acme")
	cur.Spec.Placement.Clusters = []string{"new"}
	cur.Generation = 2
	if err := c.Update(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
	reconcileHub(t, h, "acme")
	got := getTenant(t, c, "acme")
	var seen []string
	for _, cs := range got.Status.Clusters {
		seen = append(seen, cs.Name)
		if cs.Name == "old" {
			if s := meta.FindStatusCondition(cs.Conditions, tenancyv1.ConditionAvailable); s == nil || s.Status != metav1.ConditionFalse {
				t.Errorf("old Available = %+v, want False", s)
			}
		}
	}
	if !slices.Contains(seen, "old") || !slices.Contains(seen, "new") {
		t.Errorf("status.clusters = %v, want both old (being removed) and new", seen)
	}
}

func TestHubDeletionWaitsForUnreachableMembers(t *testing.T) {
	tn := fleetTenant("acme", "m")
	h, c := hubFor(t, tn)
	_ = h.Provider.Upsert(context.Background(), sourceSecret, "m", nil, []byte("kc"))
	reconcileHub(t, h, "acme")
	if err := c.Delete(context.Background(), getTenant(t, c, "acme")); err != nil {
		t.Fatal(err)
	}
	reconcileHub(t, h, "acme")
	got := getTenant(t, c, "acme") // still there: m may hold the member Tenant
	if !slices.Contains(got.Finalizers, tenancyv1.FinalizerFleet) {
		t.Fatalf("finalizer removed while member m was unreachable")
	}

	// Once m leaves the inventory and nothing reports it, the hub lets go.
	h.Provider.Delete(sourceSecret, "m")
	got.Status.Clusters = nil
	if err := c.Status().Update(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	reconcileHub(t, h, "acme")
	if err := c.Get(context.Background(), client.ObjectKey{Name: "acme"}, &tenancyv1.Tenant{}); err == nil {
		t.Error("hub Tenant still present after every member was gone")
	}
}

func TestHubIgnoresMemberRequestsAndSingleClusterTenants(t *testing.T) {
	single := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "local"}}
	h, c := hubFor(t, single)
	reconcileHub(t, h, "local")
	if got := getTenant(t, c, "local"); len(got.Finalizers) != 0 || len(got.Status.Conditions) != 0 {
		t.Errorf("hub touched a Tenant without placement: finalizers %v, conditions %v", got.Finalizers, got.Status.Conditions)
	}
	res, err := h.Reconcile(context.Background(), mcreconcile.Request{ClusterName: "m", Request: ctrl.Request{NamespacedName: client.ObjectKey{Name: "local"}}})
	if err != nil || res != (ctrl.Result{}) {
		t.Errorf("member request = %v, %v; want nothing done", res, err)
	}
	reconcileHub(t, h, "missing") // not found is not an error
}
