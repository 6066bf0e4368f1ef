package quota

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/metrics"
	"github.com/canopyhq/canopy/internal/quota"
)

// Escrow (quota.Grant): an admission within its namespace's grant is
// allowed on the cached ledger without a write, and a decision that would
// deny because of another namespace's unused grant revokes it first.

// maxRevocations bounds the rounds of revocation one admission makes.
const maxRevocations = 2

// withinGrant reports whether the admission from prev to next is within
// the namespace's grant in the cached ledger (quota.Within). It reads only
// caches: the ledger informer, the forest's tree and the quotas on the
// namespace's ancestry.
func (h *StatusHandler) withinGrant(ctx context.Context, prev, next *corev1.ResourceQuota) bool {
	return h.withinGrantOf(ctx, next.Namespace, next.Spec.ScopeSelector,
		prev.Annotations[ctrlquota.AnnotationEpoch], prev.Status.Used, next.Status.Used)
}

// withinGrantOf is withinGrant on the fields it reads: the namespace and
// scope of the singleton, the epoch of its old object, and its old and new
// usage.
func (h *StatusHandler) withinGrantOf(ctx context.Context, ns string, scope *corev1.ScopeSelector, epoch string, prevUsed, nextUsed corev1.ResourceList) bool {
	if epoch == "" || h.Ledgers.Cache == nil {
		return false
	}
	v := h.Trees.TreeOf(h.Forest, ns)
	l, err := h.Ledgers.CachedLedger(ctx, v.Root)
	if err != nil {
		return false
	}
	key := quota.Key{Namespace: ns, Scope: quota.ScopeKey(scope)}
	if _, ok := l.Grants[key]; !ok {
		return false
	}
	cover, err := h.coverOf(ctx, v, key)
	if err != nil {
		return false
	}
	return quota.Within(l, key, epoch, cover, prevUsed, nextUsed)
}

// pathQuotas reads, from the cache, the quotas on ns and its ancestors in
// the tree: all that quota.Cover looks at.
func (h *StatusHandler) pathQuotas(ctx context.Context, v ctrlquota.TreeView, ns string) ([]quota.Quota, error) {
	var tq ctrlquota.TreeQuotas
	for _, a := range v.Tree.Ancestry(ns) {
		var hrqs hncv1.HierarchicalResourceQuotaList
		if err := h.Cache.List(ctx, &hrqs, client.InNamespace(a), client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		tq.HRQs = append(tq.HRQs, hrqs.Items...)
		var hqs tenancyv1.HierarchicalQuotaList
		if err := h.Cache.List(ctx, &hqs, client.InNamespace(a), client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		tq.HQs = append(tq.HQs, hqs.Items...)
	}
	return tq.Engine(), nil
}

// revokeError asks casLedger to revoke the grants of keys and decide again.
type revokeError struct{ keys []quota.Key }

func (e *revokeError) Error() string {
	return fmt.Sprintf("revoke the grants of %d namespaces and decide again", len(e.keys))
}

// revocation is one grant fenced off: its singleton was at base, holding
// used, with an epoch other than the grant's.
type revocation struct {
	key   quota.Key
	epoch string
	base  uint64
	used  corev1.ResourceList
}

// revoke takes back the grants of keys in root's tree: for each, it writes
// the singleton with a new epoch (unless its epoch already differs from
// the grant's), after which no admission the grant allowed can commit;
// then it drops the grants from the ledger, each key counted at its
// singleton's usage at that write (quota.Revoke). A key whose singleton is
// gone is left to the leader's pruning. It returns the ledger as written,
// nil if it wrote none.
func (h *StatusHandler) revoke(ctx context.Context, root string, keys []quota.Key) (*ctrlquota.StoredLedger, error) {
	stored, err := h.Ledgers.Get(ctx, root)
	if err != nil {
		return nil, err
	}
	var done []revocation
	for _, k := range keys {
		g, ok := stored.Ledger.Grants[k]
		if !ok {
			continue
		}
		r, err := h.fence(ctx, k, g.Epoch)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		done = append(done, r)
	}
	for range DefaultMaxAttempts {
		l := stored.Ledger
		for _, r := range done {
			if next := quota.Revoke(l, r.key, r.epoch, r.base, r.used); next != nil {
				l = next
			}
		}
		if l == stored.Ledger {
			return nil, nil
		}
		written, err := h.Ledgers.PutStored(ctx, stored, l)
		if err == nil {
			for range done {
				metrics.Escrow(metrics.EscrowRevoked)
			}
			ctrl.LoggerFrom(ctx).V(1).Info("Revoked quota grants", "tree", root, "namespaces", len(done))
			return &written, nil
		}
		if !ctrlquota.IsConflict(err) {
			return nil, err
		}
		metrics.Conflict("quota-status-webhook", "configmaps")
		if stored, err = h.Ledgers.Get(ctx, root); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("revoking quota grants in tree %q: gave up after %d conflicting attempts", root, DefaultMaxAttempts)
}

// fence makes sure the singleton of k no longer carries epoch, writing a
// new one if it does, and returns where it then stood.
func (h *StatusHandler) fence(ctx context.Context, k quota.Key, epoch string) (revocation, error) {
	key := client.ObjectKey{Namespace: k.Namespace, Name: quota.SingletonName(k.Scope)}
	var err error
	for range DefaultMaxAttempts {
		rq := &corev1.ResourceQuota{}
		if err = h.Live.Get(ctx, key, rq); err != nil {
			return revocation{}, err
		}
		if rq.Annotations[ctrlquota.AnnotationEpoch] == epoch {
			rq.Annotations[ctrlquota.AnnotationEpoch] = ctrlquota.NewEpoch()
			if err = h.Ledgers.Client.Update(ctx, rq); err != nil {
				if ctrlquota.IsConflict(err) {
					metrics.Conflict("quota-status-webhook", "resourcequotas")
					continue
				}
				return revocation{}, fmt.Errorf("writing a new epoch on quota singleton %s/%s: %w", key.Namespace, key.Name, err)
			}
		}
		return revocation{key: k, epoch: epoch, base: quota.ParseRV(rq.ResourceVersion), used: rq.Status.Used}, nil
	}
	return revocation{}, fmt.Errorf("writing a new epoch on quota singleton %s/%s: %w", key.Namespace, key.Name, err)
}

// revocable is the revokeError for a denial decided on live reads, when
// other keys' grants hold room and revocations are left; nil otherwise.
func revocable(l *quota.Ledger, snap *quota.Snapshot, vs quota.Versions, key quota.Key, rounds int) error {
	if rounds >= maxRevocations {
		return nil
	}
	keys := quota.Revocable(l, snap, vs, key)
	if len(keys) == 0 {
		return nil
	}
	return &revokeError{keys: slices.Clip(keys)}
}

// fitsWithoutGrants reports whether r would be admitted once every grant
// Revocable lists were revoked (a dry run's decision, which may not write).
func fitsWithoutGrants(l *quota.Ledger, snap *quota.Snapshot, vs quota.Versions, r quota.Reservation) bool {
	keys := quota.Revocable(l, snap, vs, quota.Key{Namespace: r.Namespace, Scope: r.Scope})
	if len(keys) == 0 {
		return false
	}
	_, err := quota.Admit(quota.WithoutGrants(l, keys), snap, vs, r)
	return err == nil
}

// asRevoke returns the keys of a revokeError.
func asRevoke(err error) ([]quota.Key, bool) {
	var r *revokeError
	if errors.As(err, &r) {
		return r.keys, true
	}
	return nil, false
}
