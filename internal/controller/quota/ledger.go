package quota

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/quota"
)

// LedgerStore reads and writes the per-tree ledger ConfigMaps in the
// manager's namespace. Every write is a compare-and-swap: an update carries
// the resourceVersion it was read at, and a create fails if another replica
// created the ledger first. Callers retry from the read on ErrConflict.
type LedgerStore struct {
	// Client writes; Reader reads straight from the API server (never a
	// cache, so a retry after a conflict sees the winner's write).
	Client client.Client
	Reader client.Reader
	// Cache, if set, is an informer over the ledger ConfigMaps alone
	// (GetCached); a decision on it holds only through a write, whose
	// precondition fails if the cache was stale.
	Cache     client.Reader
	Namespace string
	// Decoded, if set, keeps the last decoded ledger of each tree by
	// resourceVersion, so that a ledger read again unchanged is not
	// decoded again. Decoded ledgers are never modified (quota.Admit and
	// quota.Prune return new ones), so they can be shared.
	Decoded *DecodeCache
}

// DecodeCache holds decoded ledgers by name and resourceVersion.
type DecodeCache struct {
	mu sync.Mutex
	m  map[string]decoded
}

type decoded struct {
	rv     string
	ledger *quota.Ledger
}

func (c *DecodeCache) get(name, rv string) *quota.Ledger {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.m[name]; ok && d.rv == rv {
		return d.ledger
	}
	return nil
}

func (c *DecodeCache) put(name, rv string, l *quota.Ledger) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]decoded{}
	}
	c.m[name] = decoded{rv: rv, ledger: l}
}

// StoredLedger is a ledger with the object version it was read at.
type StoredLedger struct {
	Ledger *quota.Ledger
	// object is nil when no ledger existed.
	object *corev1.ConfigMap
}

// Get reads the ledger of the tree rooted at root; a missing ledger is an
// empty one.
func (s LedgerStore) Get(ctx context.Context, root string) (StoredLedger, error) {
	return s.get(ctx, s.Reader, root)
}

// GetCached is Get from Cache; a ledger the cache does not hold yet is read
// live.
func (s LedgerStore) GetCached(ctx context.Context, root string) (StoredLedger, error) {
	return s.cached(ctx, root)
}

// CachedLedger is GetCached for a caller that only reads the ledger, on
// the hot path of an admission within a grant: the cache's object is not
// copied. The ledger is shared with every other reader of that version
// and must not be modified.
func (s LedgerStore) CachedLedger(ctx context.Context, root string) (*quota.Ledger, error) {
	st, err := s.cached(ctx, root, client.UnsafeDisableDeepCopy)
	return st.Ledger, err
}

// cached reads from Cache with opts, or live when there is no cache, it
// fails, or it does not hold the ledger (not started or synced yet, or not
// seen yet).
func (s LedgerStore) cached(ctx context.Context, root string, opts ...client.GetOption) (StoredLedger, error) {
	if s.Cache == nil {
		return s.Get(ctx, root)
	}
	st, err := s.get(ctx, s.Cache, root, opts...)
	if err != nil || st.Missing() {
		return s.Get(ctx, root)
	}
	return st, nil
}

func (s LedgerStore) get(ctx context.Context, r client.Reader, root string, opts ...client.GetOption) (StoredLedger, error) {
	cm := &corev1.ConfigMap{}
	err := r.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: LedgerName(root)}, cm, opts...)
	if apierrors.IsNotFound(err) {
		return StoredLedger{Ledger: &quota.Ledger{Root: root, Entries: map[quota.Key]quota.Entry{}}}, nil
	}
	if err != nil {
		return StoredLedger{}, fmt.Errorf("reading quota ledger of tree %q: %w", root, err)
	}
	if l := s.Decoded.get(cm.Name, cm.ResourceVersion); l != nil && l.Root == root {
		return StoredLedger{Ledger: l, object: cm}, nil
	}
	l, err := quota.DecodeLedger(cm.Data)
	if err != nil {
		return StoredLedger{}, fmt.Errorf("decoding quota ledger of tree %q: %w", root, err)
	}
	l.Root = root
	s.Decoded.put(cm.Name, cm.ResourceVersion, l)
	return StoredLedger{Ledger: l, object: cm}, nil
}

// Missing reports whether no ledger existed when it was read.
func (s StoredLedger) Missing() bool { return s.object == nil }

// Put writes l in place of what prev read, with a precondition on prev's
// resourceVersion. It returns an error for which IsConflict is true when
// another writer got there first.
func (s LedgerStore) Put(ctx context.Context, prev StoredLedger, l *quota.Ledger) error {
	_, err := s.PutStored(ctx, prev, l)
	return err
}

// PutStored is Put, returning the ledger as written, with its new version.
func (s LedgerStore) PutStored(ctx context.Context, prev StoredLedger, l *quota.Ledger) (StoredLedger, error) {
	data := quota.EncodeLedger(l)
	if prev.object == nil {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: s.Namespace,
				Name:      LedgerName(l.Root),
				Labels:    map[string]string{LabelLedger: "true"},
			},
			Data: data,
		}
		if err := s.Client.Create(ctx, cm); err != nil {
			return StoredLedger{}, fmt.Errorf("creating quota ledger of tree %q: %w", l.Root, err)
		}
		return StoredLedger{Ledger: l, object: cm}, nil
	}
	cm := prev.object.DeepCopy()
	cm.Data = data
	// Update sends the resourceVersion read, so the API server refuses the
	// write if anyone wrote the ledger since.
	if err := s.Client.Update(ctx, cm); err != nil {
		return StoredLedger{}, fmt.Errorf("updating quota ledger of tree %q: %w", l.Root, err)
	}
	return StoredLedger{Ledger: l, object: cm}, nil
}

// Version is the resourceVersion the ledger was read or written at, as a
// number (0 when no ledger existed).
func (s StoredLedger) Version() uint64 {
	if s.object == nil {
		return 0
	}
	return quota.ParseRV(s.object.ResourceVersion)
}

// Delete removes the ledger of a tree that no longer has quotas.
func (s LedgerStore) Delete(ctx context.Context, prev StoredLedger) error {
	if prev.object == nil {
		return nil
	}
	err := s.Client.Delete(ctx, prev.object, client.Preconditions{ResourceVersion: &prev.object.ResourceVersion})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting quota ledger %q: %w", prev.object.Name, err)
	}
	return nil
}

// IsConflict reports whether a Put lost a compare-and-swap race.
func IsConflict(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}
