package ha

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// event is one change the watch delivered, with the time it arrived.
type event struct {
	at        time.Time
	kind      string
	typ       watch.EventType
	namespace string
	name      string
	rv        string
}

// tracker follows the objects of one list type that match opts: which
// exist now, and every change with its arrival time. Waiters are woken on
// each change, so a kill can follow the progress it waits for closely.
type tracker struct {
	mu      sync.Mutex
	present map[key]bool
	events  []event
	changed chan struct{}
	err     error
}

// key names an object of a kind.
type key struct {
	kind string
	client.ObjectKey
}

func newTracker() *tracker {
	return &tracker{present: map[key]bool{}, changed: make(chan struct{})}
}

// watch adds the objects of list (e.g. &rbacv1.RoleList{}) that match
// opts and keep (nil keeps all) until ctx ends. It is called before the
// objects are written, so it sees every one.
func (tr *tracker) watch(ctx context.Context, t *testing.T, c client.WithWatch, list client.ObjectList, keep func(client.Object) bool, opts ...client.ListOption) {
	t.Helper()
	kind := fmt.Sprintf("%T", list)
	w, err := c.Watch(ctx, list, opts...)
	if err != nil {
		t.Fatalf("watching %T: %v", list, err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			now := time.Now()
			obj, ok := ev.Object.(client.Object)
			if ev.Type == watch.Error || !ok {
				tr.mu.Lock()
				if st, isStatus := ev.Object.(*metav1.Status); isStatus {
					tr.err = &statusError{st}
				}
				tr.mu.Unlock()
				continue
			}
			if keep != nil && !keep(obj) {
				continue
			}
			k := key{kind: kind, ObjectKey: client.ObjectKeyFromObject(obj)}
			tr.mu.Lock()
			switch ev.Type {
			case watch.Added, watch.Modified:
				tr.present[k] = true
			case watch.Deleted:
				delete(tr.present, k)
			}
			tr.events = append(tr.events, event{at: now, kind: kind, typ: ev.Type, namespace: k.Namespace, name: k.Name, rv: obj.GetResourceVersion()})
			close(tr.changed)
			tr.changed = make(chan struct{})
			tr.mu.Unlock()
		}
	}()
}

type statusError struct{ s *metav1.Status }

func (e *statusError) Error() string { return e.s.Message }

// waitUntil blocks until cond (called under the tracker's lock with the
// present objects) holds, ctx ends or the watch failed.
func (tr *tracker) waitUntil(ctx context.Context, cond func(present map[key]bool) bool) error {
	for {
		tr.mu.Lock()
		if tr.err != nil {
			tr.mu.Unlock()
			return tr.err
		}
		if cond(tr.present) {
			tr.mu.Unlock()
			return nil
		}
		ch := tr.changed
		tr.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// snapshot returns the objects present now.
func (tr *tracker) snapshot() map[key]bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make(map[key]bool, len(tr.present))
	for k := range tr.present {
		out[k] = true
	}
	return out
}

// firstWriteAfter returns the first change written after resourceVersion
// rv (etcd's revisions order every write in the cluster, so this is the
// first write after the lease changed hands, whichever watch delivered
// it first).
func (tr *tracker) firstWriteAfter(rv string) (event, bool) {
	after := revision(rv)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var first event
	found := false
	for _, e := range tr.events {
		if r := revision(e.rv); r > after && (!found || r < revision(first.rv)) {
			first, found = e, true
		}
	}
	return first, found
}

// writesBetween counts the changes that arrived after at and were written
// before resourceVersion rv: a dying leader's last requests.
func (tr *tracker) writesBetween(at time.Time, rv string) int {
	before := revision(rv)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, e := range tr.events {
		if e.at.After(at) && revision(e.rv) < before {
			n++
		}
	}
	return n
}

// last returns the latest change.
func (tr *tracker) last() event {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.events) == 0 {
		return event{}
	}
	return tr.events[len(tr.events)-1]
}

// revision parses a resourceVersion, an etcd revision on this control
// plane (the test reads them as such to order writes across watches).
func revision(rv string) int64 {
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		return -1
	}
	return n
}
