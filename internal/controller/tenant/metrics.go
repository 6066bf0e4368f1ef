package tenant

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

var (
	namespacesDesc = prometheus.NewDesc("canopy_tenant_namespaces",
		"Namespaces in a tenant's tree, as last reported in its status.", []string{"tenant"}, nil)
	conditionDesc = prometheus.NewDesc("canopy_tenant_condition",
		"1 for each tenant condition's current status (True, False or Unknown).", []string{"tenant", "condition", "status"}, nil)
)

// Collector reports canopy_tenant_namespaces and canopy_tenant_condition at
// scrape time from the cache, so a deleted Tenant leaves no series behind.
type Collector struct {
	reader atomic.Pointer[client.Reader]
}

// SetReader points the collector at a manager's cache; the last manager
// started in a process wins (tests run several).
func (c *Collector) SetReader(r client.Reader) { c.reader.Store(&r) }

// Describe sends both descriptors.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- namespacesDesc
	ch <- conditionDesc
}

// Collect lists Tenants and sends their samples.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	rp := c.reader.Load()
	if rp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list := &tenancyv1.TenantList{}
	if err := (*rp).List(ctx, list); err != nil {
		ctrl.Log.WithName("tenant-metrics").Error(err, "Listing tenants for metrics")
		return
	}
	for _, s := range Samples(list.Items) {
		if s.Condition == "" {
			ch <- prometheus.MustNewConstMetric(namespacesDesc, prometheus.GaugeValue, s.Value, s.Tenant)
			continue
		}
		ch <- prometheus.MustNewConstMetric(conditionDesc, prometheus.GaugeValue, s.Value, s.Tenant, s.Condition, s.Status)
	}
}

// Sample is one metric value; Condition is empty for canopy_tenant_namespaces.
type Sample struct {
	Tenant, Condition, Status string
	Value                     float64
}

// Samples computes the samples for tenants: the namespace count, and for
// each condition one sample per possible status, 1 for the current one.
func Samples(tenants []tenancyv1.Tenant) []Sample {
	var out []Sample
	for _, t := range tenants {
		out = append(out, Sample{Tenant: t.Name, Value: float64(len(t.Status.Namespaces))})
		for _, c := range t.Status.Conditions {
			for _, s := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown} {
				v := 0.0
				if c.Status == s {
					v = 1
				}
				out = append(out, Sample{Tenant: t.Name, Condition: c.Type, Status: string(s), Value: v})
			}
		}
	}
	return out
}
