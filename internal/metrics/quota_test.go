package metrics

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestQuotaCollector(t *testing.T) {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(hncv1.AddToScheme(s))
	utilruntime.Must(tenancyv1.AddToScheme(s))
	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "q"},
		Status: hncv1.HierarchicalResourceQuotaStatus{
			Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")},
			Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3")},
		}}
	hq := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "p", Name: "q"},
		Status: tenancyv1.HierarchicalQuotaStatus{
			Hard: corev1.ResourceList{"requests.cpu": resource.MustParse("1500m")},
			Used: corev1.ResourceList{"requests.cpu": resource.MustParse("500m")},
		}}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(hrq, hq).Build()
	col := &QuotaCollector{}
	col.SetReader(c)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	want := `
# HELP canopy_quota_hard Hard limit of a hierarchical quota over its subtree, per resource.
# TYPE canopy_quota_hard gauge
canopy_quota_hard{kind="HierarchicalQuota",namespace="p",quota="q",resource="requests.cpu"} 1.5
canopy_quota_hard{kind="HierarchicalResourceQuota",namespace="p",quota="q",resource="pods"} 10
# HELP canopy_quota_used Usage over a hierarchical quota's subtree, per resource, as last reconciled into its status.
# TYPE canopy_quota_used gauge
canopy_quota_used{kind="HierarchicalQuota",namespace="p",quota="q",resource="requests.cpu"} 0.5
canopy_quota_used{kind="HierarchicalResourceQuota",namespace="p",quota="q",resource="pods"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// A deleted quota leaves no series at the next scrape.
	if err := c.Delete(context.Background(), hrq); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(col); n != 2 {
		t.Errorf("after deleting the HRQ, %d series, want 2", n)
	}
}
