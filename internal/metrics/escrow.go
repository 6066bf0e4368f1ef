package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Escrow outcomes, the outcome label of canopy_quota_escrow_total.
const (
	// EscrowWithin is an admission allowed within its namespace's grant,
	// with no ledger write.
	EscrowWithin = "within"
	// EscrowRevoked is a grant revoked so that another namespace's
	// admission could be decided on the room it held.
	EscrowRevoked = "revoked"
)

var escrow = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "canopy_quota_escrow_total",
	Help: "Quota admissions allowed within an escrowed grant without a ledger write (outcome=within), and grants revoked (outcome=revoked).",
}, []string{"outcome"})

func init() {
	crmetrics.Registry.MustRegister(escrow)
}

// Escrow counts one escrow event.
func Escrow(outcome string) { escrow.WithLabelValues(outcome).Inc() }

// EscrowCount returns the count of outcome so far.
func EscrowCount(outcome string) float64 {
	var m dto.Metric
	if err := escrow.WithLabelValues(outcome).Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}
