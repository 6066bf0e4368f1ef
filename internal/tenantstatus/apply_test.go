package tenantstatus

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestApplyObjectHoldsOnlyTheSetFields(t *testing.T) {
	u, err := ApplyObject("payments", tenancyv1.TenantStatus{
		DashboardURL: "http://grafana/d",
		Conditions:   []metav1.Condition{{Type: "DashboardsReady", Status: metav1.ConditionTrue, Reason: "Synced", LastTransitionTime: metav1.Unix(0, 0).Rfc3339Copy()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if u.GetName() != "payments" || u.GetKind() != "Tenant" || u.GetAPIVersion() != "tenancy.canopy.dev/v1alpha1" {
		t.Errorf("identity = %s %s %s", u.GetAPIVersion(), u.GetKind(), u.GetName())
	}
	status := u.Object["status"].(map[string]any)
	var keys []string
	for k := range status {
		keys = append(keys, k)
	}
	if diff := cmp.Diff([]string{"conditions", "dashboardURL"}, sorted(keys)); diff != "" {
		t.Errorf("status fields (-want +got):\n%s", diff)
	}
	if _, ok := u.Object["spec"]; ok {
		t.Error("the apply object must not carry spec")
	}
}

func sorted(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}
