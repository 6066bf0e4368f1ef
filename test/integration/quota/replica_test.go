package quota

import (
	"context"
	"net"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

// TestStandbyReplicaReadyWithQuotaCaches starts a replica that does not
// lead: it runs none of the quota controllers, yet serves the quota
// webhooks, which read the singletons and the quotas from its cache. Once
// it reports ready, the informers behind those reads must have synced.
// Before, the replica's first admission created each one and waited for it
// to sync (client-go polls every 100 ms) while the API server's quota
// admission waited on the webhook: in the two-replica race over a subtree of
// one namespace, kube-controller-manager's recount of a probe pod deleted
// right before the race took over 100 ms in the webhook, lost to the race's
// admissions with a conflict, and the probe stayed charged through the race
// (99 of 100 admitted).
func TestStandbyReplicaReadyWithQuotaCaches(t *testing.T) {
	start := func() cache.Cache {
		t.Helper()
		port, err := controlplane.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		probe, err := controlplane.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		opts := env.Options
		opts.WebhookPort = port
		opts.ProbeAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(probe))
		opts.MetricsAddr = "0"
		opts.LeaderElection = true
		opts.LeaderElectionID = "canopy-standby-caches"
		mgr, stop, err := env.StartReplicaManager(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return mgr.GetCache()
	}
	start() // the leader
	standby := start()
	for _, obj := range []client.Object{&corev1.ResourceQuota{}, &hncv1.HierarchicalResourceQuota{}, &tenancyv1.HierarchicalQuota{}} {
		inf, err := standby.GetInformer(context.Background(), obj, cache.BlockUntilSynced(false))
		if err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		if !inf.HasSynced() {
			t.Errorf("the standby replica reported ready before its %T informer had synced: its first admission would wait for it", obj)
		}
	}
}
