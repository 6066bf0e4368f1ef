package quota

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ctrlquota "github.com/canopyhq/canopy/internal/controller/quota"
	"github.com/canopyhq/canopy/internal/quota"
)

func TestTreeLocksSerialisePerRoot(t *testing.T) {
	var locks treeLocks
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held, err := locks.lock(context.Background(), "root")
			if err != nil {
				t.Error(err)
				return
			}
			if n := inside.Add(1); n > most.Load() {
				most.Store(n)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			held.unlock()
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders of one root's lock at once, want 1", most.Load())
	}
	if len(locks.locks) != 0 {
		t.Errorf("%d locks left after every holder released, want 0", len(locks.locks))
	}
}

func TestTreeLocksOtherRootsAndCancel(t *testing.T) {
	var locks treeLocks
	held, err := locks.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another root is not held up.
	heldB, err := locks.lock(context.Background(), "b")
	if err != nil {
		t.Fatalf("locking another root: %v", err)
	}
	heldB.unlock()
	// A waiter on a held root gives up with its context.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := locks.lock(ctx, "a"); err == nil {
		t.Fatal("locked a held root")
	}
	held.unlock()
	if len(locks.locks) != 0 {
		t.Errorf("%d locks left, want 0", len(locks.locks))
	}
}

// The next holder of a root's lock gets the ledger the last one wrote,
// whether it waited or came later.
func TestTreeLocksHandOverTheWrittenLedger(t *testing.T) {
	var locks treeLocks
	first, err := locks.lock(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	if first.written != nil {
		t.Fatalf("first holder got written %v, want none", first.written)
	}
	w := &ctrlquota.StoredLedger{Ledger: &quota.Ledger{Root: "root"}}
	first.written = w
	first.unlock()
	second, err := locks.lock(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	if second.written != w {
		t.Errorf("second holder got written %v, want the first holder's", second.written)
	}
	// A holder that writes nothing leaves the last written ledger.
	second.written = nil
	second.unlock()
	third, err := locks.lock(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	if third.written != w {
		t.Errorf("third holder got written %v, want the first holder's", third.written)
	}
	third.unlock()
	other, err := locks.lock(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	if other.written != nil {
		t.Errorf("another root's holder got written %v, want none", other.written)
	}
	other.unlock()
}
