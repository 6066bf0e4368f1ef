package forestsync

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/canopyhq/canopy/internal/forest"
)

func TestNotifyAndReadiness(t *testing.T) {
	s := New(forest.New())
	if err := s.ReadyCheck(nil); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("ReadyCheck before load = %v, want ErrNotLoaded", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var got [][]string
	s.Subscribe(ctx, func(names []string) { got = append(got, names) })
	s.Notify([]string{"a", "b"})
	s.Notify(nil)
	cancel()
	// context.AfterFunc runs asynchronously; Notify after the unsubscribe
	// may or may not arrive, so only the first delivery is checked.
	if diff := cmp.Diff([][]string{{"a", "b"}}, got[:1]); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
}

func TestSourceEnqueuesEverythingWhenLoaded(t *testing.T) {
	f := forest.New()
	f.Lock()
	f.Get("x").SetExists(true)
	f.Get("y").SetExists(true)
	f.Unlock()
	s := New(f)
	s.loaded.Store(true)
	close(s.loadedCh)
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Source().Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	s.Notify([]string{"z"})
	var names []string
	for q.Len() > 0 {
		r, _ := q.Get()
		names = append(names, r.Name)
		q.Done(r)
	}
	if diff := cmp.Diff([]string{"x", "y", "z"}, names); diff != "" {
		t.Errorf("enqueued (-want +got):\n%s", diff)
	}
	if err := s.WaitLoaded(ctx); err != nil {
		t.Errorf("WaitLoaded after load: %v", err)
	}
}

// Before the forest has loaded, a namespace's parent may not be in it
// yet: a reconciler woken then would decide on a partial tree (drop tree
// labels, set ParentMissing) and undo it a moment later, writing on every
// restart. So the Source enqueues nothing until the load, whose
// everything-changed notification enqueues every namespace.
func TestSourceWaitsForTheLoad(t *testing.T) {
	f := forest.New()
	s := New(f)
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Source().Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	s.Notify([]string{"child"})
	if n := q.Len(); n != 0 {
		t.Fatalf("%d requests enqueued before the forest loaded, want none", n)
	}
	f.Lock()
	f.Get("child").SetExists(true)
	f.Get("parent").SetExists(true)
	f.Unlock()
	s.markLoaded()
	var names []string
	for q.Len() > 0 {
		r, _ := q.Get()
		names = append(names, r.Name)
		q.Done(r)
	}
	if diff := cmp.Diff([]string{"child", "parent"}, names); diff != "" {
		t.Errorf("enqueued at the load (-want +got):\n%s", diff)
	}
}
