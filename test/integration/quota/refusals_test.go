package quota

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// resourceQuotaLists is how many LISTs of ResourceQuotas the API server has
// served, from its own metrics.
func resourceQuotaLists(t testing.TB) float64 {
	t.Helper()
	return env.SumAPIServerMetric(t, "apiserver_request_total", func(l map[string]string) bool {
		return l["resource"] == "resourcequotas" && l["verb"] == "LIST"
	})
}

// Refusals in a full tree read only the ledger live, not every singleton:
// the API server's quota admission retries a refused status update three
// times, so each refused creation costs four webhook calls, and with a
// live List of the singletons (and a snapshot rebuilt from it) in each, a
// stream of creations against a full 50-namespace tree kept its five
// workers, which every namespace of the cluster shares, so busy that
// admissions timed out ("resource quota evaluation timed out"). The
// refusals still name the quota, and room freed by a deletion is admitted
// again as soon as the quota's status shows it.
func TestRefusalsInAFullTreeReadOnlyTheLedgerLive(t *testing.T) {
	admin(t)
	tree(t, "refuse-root", "refuse-a=refuse-root", "refuse-b=refuse-root")
	hrq(t, "refuse-root", "total", "pods=2", "refuse-root", "refuse-a", "refuse-b")
	mustCreatePods(t, "refuse-a", "p1", "p2")
	waitHRQUsed(t, "refuse-root", "total", corev1.ResourcePods, 2)

	before := resourceQuotaLists(t)
	const refusals = 10
	for i := range refusals {
		mustDeny(t, "refuse-b", fmt.Sprintf("p%d", i), `exceeded quota: HierarchicalResourceQuota "total" in namespace "refuse-root"`, "used: pods=2", "limited: pods=2")
	}
	if lists := resourceQuotaLists(t) - before; lists > 2 {
		t.Errorf("%d refusals in a full tree made the API server serve %.0f ResourceQuota lists, want at most 2", refusals, lists)
	}

	// A deletion lowers usage through a recount, marked in the ledger: the
	// next creation fits and is admitted, whichever namespace asks.
	if err := adminClient.Delete(context.Background(), pod("refuse-a", "p1")); err != nil {
		t.Fatal(err)
	}
	waitHRQUsed(t, "refuse-root", "total", corev1.ResourcePods, 1)
	mustCreatePods(t, "refuse-b", "again")
	mustDeny(t, "refuse-a", "p3", `HierarchicalResourceQuota "total"`)
	if n := countPods(t, "refuse-root", "refuse-a", "refuse-b"); n != 2 {
		t.Errorf("%d pods in the tree, want 2", n)
	}
}
