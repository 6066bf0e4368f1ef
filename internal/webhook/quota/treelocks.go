package quota

import (
	"context"
	"sync"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
)

// treeLocks is one lock per tree root, taken with a context. A lock is
// dropped once no one holds or waits for it. The ledger its last holder
// wrote, which the ledger informer may not show yet, is kept per root for
// the next holder (one ledger per tree this replica wrote).
type treeLocks struct {
	mu      sync.Mutex
	locks   map[string]*treeLock
	written map[string]*ctrlquota.StoredLedger
}

type treeLock struct {
	sem   chan struct{}
	users int
}

// heldTree is a held lock. Its holder reads and sets written.
type heldTree struct {
	root    string
	written *ctrlquota.StoredLedger
	release func(written *ctrlquota.StoredLedger)
}

func (h *heldTree) unlock() { h.release(h.written) }

// lock waits for root's lock until ctx ends.
func (t *treeLocks) lock(ctx context.Context, root string) (*heldTree, error) {
	t.mu.Lock()
	if t.locks == nil {
		t.locks = map[string]*treeLock{}
	}
	l := t.locks[root]
	if l == nil {
		l = &treeLock{sem: make(chan struct{}, 1)}
		t.locks[root] = l
	}
	l.users++
	t.mu.Unlock()
	done := func() {
		t.mu.Lock()
		if l.users--; l.users == 0 {
			delete(t.locks, root)
		}
		t.mu.Unlock()
	}
	select {
	case l.sem <- struct{}{}:
		// Read again under the lock: the previous holder set it on release.
		t.mu.Lock()
		written := t.written[root]
		t.mu.Unlock()
		return &heldTree{root: root, written: written, release: func(w *ctrlquota.StoredLedger) {
			t.mu.Lock()
			if w != nil {
				if t.written == nil {
					t.written = map[string]*ctrlquota.StoredLedger{}
				}
				t.written[root] = w
			}
			t.mu.Unlock()
			<-l.sem
			done()
		}}, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
