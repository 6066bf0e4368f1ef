package dashboard

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestTenantChangedIgnoresStatusWrites(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name string
		mod  func(*tenancyv1.Tenant)
		want bool
	}{
		{"status only", func(t *tenancyv1.Tenant) { t.Status.DashboardURL = "x" }, false},
		{"spec", func(t *tenancyv1.Tenant) { t.Generation++ }, true},
		{"deletion", func(t *tenancyv1.Tenant) { t.DeletionTimestamp = &now }, true},
		{"finalizer", func(t *tenancyv1.Tenant) { t.Finalizers = nil }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := tenant("acme", func(t *tenancyv1.Tenant) { t.Finalizers = []string{Finalizer} })
			updated := old.DeepCopy()
			tc.mod(updated)
			if got := tenantChanged().Update(event.UpdateEvent{ObjectOld: old, ObjectNew: updated}); got != tc.want {
				t.Errorf("Update = %v, want %v", got, tc.want)
			}
		})
	}
}
