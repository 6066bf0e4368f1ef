package setup

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// quotaCaches are the informers every replica's quota webhooks read: the
// singletons, both kinds of quota and the ledgers. They are registered
// before the manager starts, so that each replica starts and syncs them with
// its caches, and the replica is not ready until they have synced. A
// replica that does not lead runs none of the controllers that would
// otherwise create them, and its first admission created each one and
// waited for it to sync (client-go polls every 100 ms), while the API
// server's quota admission, which judges one namespace at a time, waited on
// the webhook.
type quotaCaches []func() bool

// registerQuotaCaches registers the informers on main (the manager's cache)
// and ledgers (the ledger ConfigMaps' own cache), without waiting for them.
func registerQuotaCaches(ctx context.Context, main, ledgers cache.Cache) (quotaCaches, error) {
	reads := []struct {
		c   cache.Cache
		obj client.Object
	}{
		{main, &corev1.ResourceQuota{}},
		{main, &hncv1.HierarchicalResourceQuota{}},
		{main, &tenancyv1.HierarchicalQuota{}},
		{ledgers, &corev1.ConfigMap{}},
	}
	out := make(quotaCaches, 0, len(reads))
	for _, r := range reads {
		inf, err := r.c.GetInformer(ctx, r.obj, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, fmt.Errorf("registering the %T informer of the quota webhooks: %w", r.obj, err)
		}
		out = append(out, inf.HasSynced)
	}
	return out, nil
}

// errQuotaCachesNotSynced is the readiness check's answer until they have.
var errQuotaCachesNotSynced = errors.New("the quota webhooks' caches have not synced yet")

// ReadyCheck is a healthz.Checker that passes once every informer has synced.
func (q quotaCaches) ReadyCheck(*http.Request) error {
	for _, synced := range q {
		if !synced() {
			return errQuotaCachesNotSynced
		}
	}
	return nil
}

// everyReplica runs a cache of its own on every replica, with the manager's
// caches, which the manager starts first and waits for. Added as itself, a
// cache is a plain runnable, which the manager starts only on the leader:
// the ledger cache then never ran on a replica that did not lead (its
// webhooks read every ledger live), and the leader created the ledger
// informer on its first admission.
type everyReplica struct{ cache.Cache }

// GetCache makes the manager treat it as a cache.
func (c everyReplica) GetCache() cache.Cache { return c.Cache }
