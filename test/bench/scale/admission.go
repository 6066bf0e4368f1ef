package scale

import (
	"context"
	"fmt"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// Where a quota phase's pod-create time goes, from the API server's own
// admission metrics, scraped before and after the phase: the mean time of
// Canopy's singleton-status webhook per call, its calls per pod created
// under the hierarchical quota (above 1 when the API server's quota
// admission retried), and the mean time of the ResourceQuota admission
// plugin (the plain ResourceQuota's pods and the hierarchical quota's
// share it).

const statusWebhook = "singleton-status.quota.canopy.dev"

// admissionSums are cumulative sums and counts of the admission metrics.
type admissionSums struct {
	webhookSum, webhookCount float64
	// noopSum and noopCount are the no-op webhook's (hooked.go).
	noopSum, noopCount     float64
	pluginSum, pluginCount float64
	// statusWrites and statusConflicts count updates of ResourceQuota
	// statuses, any writer, and those refused with a conflict.
	statusWrites, statusConflicts float64
}

func scrapeAdmission(ctx context.Context, cl *cluster) (admissionSums, error) {
	fams, err := framework.APIServerMetrics(ctx, cl.cs.CoreV1().RESTClient())
	if err != nil {
		return admissionSums{}, err
	}
	var s admissionSums
	for _, m := range fams["apiserver_admission_webhook_admission_duration_seconds"].GetMetric() {
		if l := framework.Labels(m); l["name"] == statusWebhook {
			s.webhookSum += m.GetHistogram().GetSampleSum()
			s.webhookCount += float64(m.GetHistogram().GetSampleCount())
		}
		if l := framework.Labels(m); l["name"] == noopWebhook {
			s.noopSum += m.GetHistogram().GetSampleSum()
			s.noopCount += float64(m.GetHistogram().GetSampleCount())
		}
	}
	for _, m := range fams["apiserver_admission_controller_admission_duration_seconds"].GetMetric() {
		if l := framework.Labels(m); l["name"] == "ResourceQuota" && l["operation"] == "CREATE" {
			s.pluginSum += m.GetHistogram().GetSampleSum()
			s.pluginCount += float64(m.GetHistogram().GetSampleCount())
		}
	}
	for _, m := range fams["apiserver_request_total"].GetMetric() {
		if l := framework.Labels(m); l["resource"] == "resourcequotas" && l["subresource"] == "status" && l["verb"] == "PUT" {
			s.statusWrites += framework.Value(m)
			if l["code"] == "409" {
				s.statusConflicts += framework.Value(m)
			}
		}
	}
	return s, nil
}

// admissionFigures records, under q<size>-, the phase between before and
// after in which pods pods were created under the hierarchical quota.
func admissionFigures(f figures, size, pods int, before, after admissionSums) {
	if n := after.webhookCount - before.webhookCount; n > 0 {
		f[fmt.Sprintf("q%d-webhook-ms", size)] = (after.webhookSum - before.webhookSum) / n * 1000
		f[fmt.Sprintf("q%d-webhook-calls", size)] = n / float64(pods)
	}
	if n := after.noopCount - before.noopCount; n > 0 {
		f[fmt.Sprintf("q%d-noop-ms", size)] = (after.noopSum - before.noopSum) / n * 1000
	}
	f[fmt.Sprintf("q%d-status-writes", size)] = (after.statusWrites - before.statusWrites) / float64(pods)
	f[fmt.Sprintf("q%d-status-conflicts", size)] = (after.statusConflicts - before.statusConflicts) / float64(pods)
	if n := after.pluginCount - before.pluginCount; n > 0 {
		f[fmt.Sprintf("q%d-plugin-ms", size)] = (after.pluginSum - before.pluginSum) / n * 1000
	}
}
