package setup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// quotaCaches starts, on every replica, the informers its quota webhooks
// read: the singletons, both kinds of quota and the ledgers; and the
// replica is not ready until they have synced. A replica that does not lead
// runs none of the controllers that would otherwise create them, and its
// first admission created each one and waited for it to sync (client-go
// polls every 100 ms), while the API server's quota admission, which judges
// one namespace at a time, waited on the webhook.
//
// The informers are created when the manager starts, not when it is set
// up, and again each second until every one is, like a controller's watch:
// the CRDs may reach the API server's discovery only just before the
// manager starts.
type quotaCaches struct {
	main, ledgers cache.Cache

	mu     sync.Mutex
	synced []func() bool
	done   bool
}

// quotaCacheRetry is how long Start waits before trying again.
const quotaCacheRetry = time.Second

// NeedLeaderElection is false: every replica serves the webhooks.
func (q *quotaCaches) NeedLeaderElection() bool { return false }

// Start creates the informers, without waiting for them to sync.
func (q *quotaCaches) Start(ctx context.Context) error {
	for {
		err := q.register(ctx)
		if err == nil {
			return nil
		}
		ctrl.LoggerFrom(ctx).V(1).Info("Waiting to start the quota webhooks' caches", "reason", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(quotaCacheRetry):
		}
	}
}

func (q *quotaCaches) register(ctx context.Context) error {
	reads := []struct {
		c   cache.Cache
		obj client.Object
	}{
		{q.main, &corev1.ResourceQuota{}},
		{q.main, &hncv1.HierarchicalResourceQuota{}},
		{q.main, &tenancyv1.HierarchicalQuota{}},
		{q.ledgers, &corev1.ConfigMap{}},
	}
	synced := make([]func() bool, 0, len(reads))
	for _, r := range reads {
		inf, err := r.c.GetInformer(ctx, r.obj, cache.BlockUntilSynced(false))
		if err != nil {
			return fmt.Errorf("starting the %T informer of the quota webhooks: %w", r.obj, err)
		}
		synced = append(synced, inf.HasSynced)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.synced, q.done = synced, true
	return nil
}

// errQuotaCachesNotSynced is the readiness check's answer until they have.
var errQuotaCachesNotSynced = errors.New("the quota webhooks' caches have not synced yet")

// ReadyCheck is a healthz.Checker that passes once every informer has been
// created and has synced.
func (q *quotaCaches) ReadyCheck(*http.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.done {
		return errQuotaCachesNotSynced
	}
	for _, synced := range q.synced {
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
