package tenant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// TestEvents walks a Tenant through creation, growth, a shrink around a
// namespace holding a pod, and a refused then forced deletion, and checks
// that each change is recorded as an Event (events.k8s.io/v1) whose
// regarding object is the Tenant, with the expected type, reason and note.
func TestEvents(t *testing.T) {
	ctx := context.Background()
	createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "ev"},
		Spec: tenancyv1.TenantSpec{
			Namespaces:     []tenancyv1.TenantNamespace{{Name: "ev-a"}},
			DeletionPolicy: tenancyv1.DeletionDelete,
		},
	})
	tn := waitReady(t, "ev")
	uid := tn.UID

	waitEvent(t, uid, corev1.EventTypeNormal, tenantctrl.ReasonCreated, "Created root namespace ev")
	waitEvent(t, uid, corev1.EventTypeNormal, tenantctrl.ReasonCreated, "Created subnamespace anchor ev/ev-a")
	waitEvent(t, uid, corev1.EventTypeNormal, tenantctrl.ReasonApplied, "Applied generation 1 of the spec")

	// Grow.
	updateTenant(t, "ev", func(tn *tenancyv1.Tenant) {
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1.TenantNamespace{Name: "ev-b"})
	})
	waitEvent(t, uid, corev1.EventTypeNormal, tenantctrl.ReasonCreated, "Created subnamespace anchor ev/ev-b")
	waitEvent(t, uid, corev1.EventTypeNormal, tenantctrl.ReasonApplied, "Applied generation 2 of the spec")

	// Shrink around a namespace holding a pod: a warning, then the
	// deletion once the pod is gone.
	waitNamespaceLabel(t, "ev-b", tenancyv1.LabelTenant, "ev")
	waitOpen(t, "ev-b")
	if err := env.Client.Create(ctx, pod("ev-b", "worker", "example.com/worker")); err != nil {
		t.Fatal(err)
	}
	updateTenant(t, "ev", func(tn *tenancyv1.Tenant) { tn.Spec.Namespaces = tn.Spec.Namespaces[:1] })
	waitEvent(t, uid, corev1.EventTypeWarning, tenantctrl.ReasonNamespaceHolds, "Kept namespace ev-b, removed from spec.namespaces, because it holds workloads")
	waitEvent(t, uid, corev1.EventTypeNormal, tenantctrl.ReasonApplied, "Applied generation 3 of the spec")
	deletePod(t, "ev-b", "worker")
	waitEvent(t, uid, corev1.EventTypeNormal, tenantctrl.ReasonDeleted, "Deleted subnamespace anchor ev/ev-b, removed from spec.namespaces")

	// Delete: refused while ev-a holds a pod, then forced.
	waitOpen(t, "ev-a")
	if err := env.Client.Create(ctx, pod("ev-a", "worker", "example.com/worker")); err != nil {
		t.Fatal(err)
	}
	if err := admin(t).Delete(ctx, &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "ev"}}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, uid, corev1.EventTypeWarning, tenantctrl.ReasonDeletionBlocked, "Deletion refused while namespaces hold workloads: ev-a (holds pods)")
	updateTenant(t, "ev", func(tn *tenancyv1.Tenant) { tn.Spec.Force = true })
	waitEvent(t, uid, corev1.EventTypeNormal, tenantctrl.ReasonDeleting, "Deleting root namespace ev")
	waitGone(t, &tenancyv1.Tenant{}, "", "ev")
}

// waitEvent waits for an Event about the Tenant with uid, of type typ and
// reason, whose note contains note, recorded by the tenant controller.
// Events about a cluster-scoped object live in the default namespace.
func waitEvent(t *testing.T, uid types.UID, typ, reason, note string) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		list := &eventsv1.EventList{}
		if err := admin(t).List(ctx, list, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			return err
		}
		var seen []string
		for _, e := range list.Items {
			r := e.Regarding
			if r.Kind != "Tenant" || r.APIVersion != tenancyv1.GroupVersion.String() || r.UID != uid {
				continue
			}
			seen = append(seen, fmt.Sprintf("%s/%s: %s", e.Type, e.Reason, e.Note))
			if e.Type == typ && e.Reason == reason && strings.Contains(e.Note, note) {
				if e.ReportingController != "canopy-tenant" {
					return fmt.Errorf("event %q reported by %q, want canopy-tenant", e.Note, e.ReportingController)
				}
				return nil
			}
		}
		slices.Sort(seen)
		return fmt.Errorf("no %s event %s with note %q about the Tenant; seen:\n%s", typ, reason, note, strings.Join(seen, "\n"))
	})
}
