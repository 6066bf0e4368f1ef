package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var replenished = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "canopy_quota_replenished_total",
	Help: "Quota singletons the manager lowered for pods that went when kube-controller-manager's recount missed them.",
})

func init() { crmetrics.Registry.MustRegister(replenished) }

// Replenished counts one singleton lowered for pods that went.
func Replenished() { replenished.Inc() }
