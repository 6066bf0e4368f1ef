package dashboard

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// provisionThenDelete provisions acme under policy, then deletes it (the
// finalizer keeps it, with a deletionTimestamp).
func provisionThenDelete(t *testing.T, policy tenancyv1.DeletionPolicy) *harness {
	t.Helper()
	h := newHarness(t, basicAuthSecret(), tenant("acme", func(tn *tenancyv1.Tenant) {
		tn.Spec.DeletionPolicy = policy
		tn.Spec.Teams = []tenancyv1.Team{{Name: "dev", Namespace: "acme-dev"}}
	}))
	if _, err := h.reconcile("acme"); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if got := h.g.folderUIDs("acme"); len(got) != 2 {
		t.Fatalf("after provisioning, folders = %v, want 2", got)
	}
	if err := h.c.Delete(context.Background(), h.get("acme")); err != nil {
		t.Fatalf("deleting tenant: %v", err)
	}
	if h.get("acme").DeletionTimestamp == nil {
		t.Fatal("tenant has no deletionTimestamp; the finalizer should hold it")
	}
	return h
}

func (h *harness) gone(name string) bool {
	h.t.Helper()
	err := h.c.Get(context.Background(), types.NamespacedName{Name: name}, &tenancyv1.Tenant{})
	if err != nil && !apierrors.IsNotFound(err) {
		h.t.Fatalf("getting tenant: %v", err)
	}
	return apierrors.IsNotFound(err)
}

func TestFinalizeFollowsDeletionPolicy(t *testing.T) {
	cases := []struct {
		policy     tenancyv1.DeletionPolicy
		wantOrgs   []string
		wantWrites bool
	}{
		{tenancyv1.DeletionDelete, []string{"Main Org."}, true},
		{tenancyv1.DeletionRetain, []string{"Main Org.", "acme"}, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.policy), func(t *testing.T) {
			h := provisionThenDelete(t, tc.policy)
			before := h.g.writeCount()
			if _, err := h.reconcile("acme"); err != nil {
				t.Fatalf("Reconcile on deletion: %v", err)
			}
			if !h.gone("acme") {
				t.Error("tenant still exists; the finalizer should be removed")
			}
			if diff := cmp.Diff(tc.wantOrgs, h.g.orgNames()); diff != "" {
				t.Errorf("Grafana orgs (-want +got):\n%s", diff)
			}
			if got := h.g.writeCount() > before; got != tc.wantWrites {
				t.Errorf("teardown wrote to Grafana = %v, want %v", got, tc.wantWrites)
			}
		})
	}
}

func TestFinalizeGivesUpOnUnreachableGrafana(t *testing.T) {
	h := provisionThenDelete(t, tenancyv1.DeletionDelete)
	h.g.setDown(true)
	deleted := h.get("acme").DeletionTimestamp.Time

	h.now = deleted.Add(time.Minute)
	if _, err := h.reconcile("acme"); err == nil {
		t.Fatal("Reconcile returned no error while Grafana is down within the timeout; want one, to back off")
	}
	if h.gone("acme") {
		t.Fatal("tenant deleted before the teardown timeout")
	}

	h.now = deleted.Add(DefaultTeardownTimeout + time.Minute)
	if _, err := h.reconcile("acme"); err != nil {
		t.Fatalf("Reconcile after the timeout: %v", err)
	}
	if !h.gone("acme") {
		t.Fatal("tenant still exists after the teardown timeout")
	}
	var abandoned []string
	for len(h.rec.Events) > 0 {
		if e := <-h.rec.Events; strings.Contains(e, "GrafanaTeardownAbandoned") {
			abandoned = append(abandoned, e)
		}
	}
	if len(abandoned) != 1 || !strings.Contains(abandoned[0], `organization "acme"`) {
		t.Errorf("abandon events = %q, want one naming the organization", abandoned)
	}
}

func TestReleaserRemovesOnlyItsFinalizer(t *testing.T) {
	h := newHarness(t, tenant("acme", func(tn *tenancyv1.Tenant) {
		tn.Finalizers = []string{Finalizer, tenancyv1.FinalizerTenant}
	}))
	if err := h.c.Delete(context.Background(), h.get("acme")); err != nil {
		t.Fatalf("deleting tenant: %v", err)
	}
	r := &Releaser{Client: h.c, Recorder: h.rec}
	if _, err := r.Reconcile(context.Background(), reqFor("acme")); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if diff := cmp.Diff([]string{tenancyv1.FinalizerTenant}, h.get("acme").Finalizers); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
	if h.g.writeCount() != 0 {
		t.Error("the releaser wrote to Grafana")
	}
}

func TestReleaserIgnoresLiveTenants(t *testing.T) {
	h := newHarness(t, tenant("acme", func(tn *tenancyv1.Tenant) { tn.Finalizers = []string{Finalizer} }))
	r := &Releaser{Client: h.c}
	if _, err := r.Reconcile(context.Background(), reqFor("acme")); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if diff := cmp.Diff([]string{Finalizer}, h.get("acme").Finalizers); diff != "" {
		t.Errorf("finalizers of a live tenant (-want +got):\n%s", diff)
	}
}

func reqFor(name string) ctrl.Request {
	return ctrl.Request{NamespacedName: types.NamespacedName{Name: name}}
}
