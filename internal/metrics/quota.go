package metrics

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

var (
	quotaLabels = []string{"namespace", "quota", "kind", "resource"}
	hardDesc    = prometheus.NewDesc("canopy_quota_hard",
		"Hard limit of a hierarchical quota over its subtree, per resource.", quotaLabels, nil)
	usedDesc = prometheus.NewDesc("canopy_quota_used",
		"Usage over a hierarchical quota's subtree, per resource, as last reconciled into its status.", quotaLabels, nil)
)

// Quota kinds as the kind label reports them.
const (
	KindHRQ = "HierarchicalResourceQuota"
	KindHQ  = "HierarchicalQuota"
)

// QuotaCollector reports canopy_quota_hard and canopy_quota_used for every
// HierarchicalResourceQuota and HierarchicalQuota, from their status. The
// kind label keeps an HRQ and a HierarchicalQuota of the same name apart.
type QuotaCollector struct {
	reader atomic.Pointer[client.Reader]
}

// SetReader points the collector at a manager's cache. Several managers in
// one process (tests with two replicas) share the one registered collector,
// which reads from the last one set.
func (c *QuotaCollector) SetReader(r client.Reader) { c.reader.Store(&r) }

// Describe sends the two descriptors.
func (c *QuotaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- hardDesc
	ch <- usedDesc
}

// Collect lists the quotas from the cache and sends one sample per resource.
func (c *QuotaCollector) Collect(ch chan<- prometheus.Metric) {
	rp := c.reader.Load()
	if rp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range Samples(ctx, *rp) {
		desc := hardDesc
		if !s.Hard {
			desc = usedDesc
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, s.Value, s.Namespace, s.Quota, s.Kind, s.Resource)
	}
}

// Sample is one value of canopy_quota_hard (Hard) or canopy_quota_used.
type Sample struct {
	Hard                             bool
	Namespace, Quota, Kind, Resource string
	Value                            float64
}

// Samples computes the samples from the quotas r holds. Errors (a cache not
// started yet) yield no samples for that kind.
func Samples(ctx context.Context, r client.Reader) []Sample {
	var out []Sample
	var hrqs hncv1.HierarchicalResourceQuotaList
	if err := r.List(ctx, &hrqs); err != nil {
		ctrl.Log.WithName("metrics").V(1).Info("Listing HierarchicalResourceQuotas for metrics failed", "error", err.Error())
	}
	for _, h := range hrqs.Items {
		out = appendSamples(out, h.Namespace, h.Name, KindHRQ, h.Status.Hard, h.Status.Used)
	}
	var hqs tenancyv1.HierarchicalQuotaList
	if err := r.List(ctx, &hqs); err != nil {
		ctrl.Log.WithName("metrics").V(1).Info("Listing HierarchicalQuotas for metrics failed", "error", err.Error())
	}
	for _, q := range hqs.Items {
		out = appendSamples(out, q.Namespace, q.Name, KindHQ, q.Status.Hard, q.Status.Used)
	}
	return out
}

func appendSamples(out []Sample, ns, name, kind string, hard, used corev1.ResourceList) []Sample {
	for r, q := range hard {
		out = append(out, Sample{Hard: true, Namespace: ns, Quota: name, Kind: kind, Resource: string(r), Value: q.AsApproximateFloat64()})
	}
	for r, q := range used {
		out = append(out, Sample{Namespace: ns, Quota: name, Kind: kind, Resource: string(r), Value: q.AsApproximateFloat64()})
	}
	return out
}

// quotaCollector is the process's one registered collector.
var quotaCollector = &QuotaCollector{}

// RegisterQuota registers the quota collector with controller-runtime's
// registry (once per process) and points it at r.
func RegisterQuota(r client.Reader) error {
	quotaCollector.SetReader(r)
	err := crmetrics.Registry.Register(quotaCollector)
	var already prometheus.AlreadyRegisteredError
	if err != nil && !errors.As(err, &already) {
		return err
	}
	return nil
}
