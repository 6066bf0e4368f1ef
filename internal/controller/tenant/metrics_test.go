package tenant

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestCollectorReadsTheCacheAtScrapeTime(t *testing.T) {
	s := runtime.NewScheme()
	if err := tenancyv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: tenancyv1.TenantStatus{
		Namespaces: []string{"p", "p-a", "p-b"},
		Conditions: []metav1.Condition{{Type: tenancyv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "R", LastTransitionTime: metav1.Now()}},
	}}
	c := &Collector{}
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("collector without a reader sent %d samples", n)
	}
	c.SetReader(fake.NewClientBuilder().WithScheme(s).WithObjects(tn).Build())
	want := `
# HELP canopy_tenant_namespaces Namespaces in a tenant's tree, as last reported in its status.
# TYPE canopy_tenant_namespaces gauge
canopy_tenant_namespaces{tenant="p"} 3
# HELP canopy_tenant_condition 1 for each tenant condition's current status (True, False or Unknown).
# TYPE canopy_tenant_condition gauge
canopy_tenant_condition{condition="Ready",status="False",tenant="p"} 0
canopy_tenant_condition{condition="Ready",status="True",tenant="p"} 1
canopy_tenant_condition{condition="Ready",status="Unknown",tenant="p"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// A deleted Tenant leaves no series.
	c.SetReader(fake.NewClientBuilder().WithScheme(s).Build())
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("after deletion the collector sent %d samples", n)
	}
}
