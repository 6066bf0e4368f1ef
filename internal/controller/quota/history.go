package quota

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/canopyhq/canopy/internal/quota"
)

// errHistoryBehind is returned for a singleton whose cached version the
// history has not reached, or has passed: the replenisher tries again.
var errHistoryBehind = errors.New("the singleton's write history is not at its cached version")

// SingletonWatcher starts a watch of every singleton at resourceVersion rv,
// or, with rv empty, returns the current resourceVersion to start one from.
type SingletonWatcher = PodWatcher

// history follows every write of every singleton, to know the last one that
// may have left a departed pod out (quota.OnlyAdded): the replenisher lowers
// a singleton for the pods that stopped counting after it, even when
// admissions wrote the singleton since.
type history struct {
	mu      sync.Mutex
	entries map[types.NamespacedName]*written
	// wrote holds when a write of some singleton of each namespace was
	// last seen (busy).
	wrote map[string]time.Time
}

// written is what the history knows of one singleton.
type written struct {
	// rv and used are the latest version seen and its status.used.
	rv   uint64
	used corev1.ResourceList
	// lowered is the version of the last write that may have left a pod
	// out: not seen, or not only adding. Every write after it only added.
	lowered uint64
}

// base returns the version of the last write of the singleton at cached
// version rv that may have left a pod out: that of the last write that did
// not only add, when the history holds the singleton at rv, and rv itself
// when it holds nothing. errHistoryBehind means the history is at another
// version than rv, and another look may settle it.
func (h *history) base(key types.NamespacedName, rv uint64) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.entries[key]
	switch {
	case !ok:
		return rv, nil
	case w.rv != rv:
		return rv, errHistoryBehind
	}
	return w.lowered, nil
}

// passed reports whether the history holds the singleton at a version
// later than rv.
func (h *history) passed(key types.NamespacedName, rv uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.entries[key]
	return ok && w.rv > rv
}

// observe records one watch event.
func (h *history) observe(t watch.EventType, rq *corev1.ResourceQuota) {
	key := types.NamespacedName{Namespace: rq.Namespace, Name: rq.Name}
	rv := quota.ParseRV(rq.ResourceVersion)
	h.mu.Lock()
	defer h.mu.Unlock()
	w, ok := h.entries[key]
	switch {
	case t == watch.Deleted:
		delete(h.entries, key)
		delete(h.wrote, key.Namespace)
		return
	case !ok:
		// The write before this one is not known: it may have lowered.
		w = &written{lowered: rv}
		h.entries[key] = w
	case !quota.OnlyAdded(w.used, rq):
		w.lowered = rv
	}
	w.rv, w.used = rv, rq.Status.Used.DeepCopy()
	if h.wrote == nil {
		h.wrote = map[string]time.Time{}
	}
	h.wrote[rq.Namespace] = time.Now()
}

// lastWrite returns when a write of a singleton of ns was last seen.
func (h *history) lastWrite(ns string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at, ok := h.wrote[ns]
	return at, ok
}

// forget drops everything: writes were missed.
func (h *history) forget() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.entries = map[types.NamespacedName]*written{}
	h.wrote = map[string]time.Time{}
}

// follow watches singletons until ctx ends, as Replenisher.Start watches
// pods. A gap in the watch forgets everything before it.
func (h *history) follow(ctx context.Context, singletons SingletonWatcher) {
	log := ctrl.LoggerFrom(ctx).WithName("quota-replenisher")
	h.forget()
	rv := ""
	for ctx.Err() == nil {
		if rv == "" {
			var err error
			if rv, err = singletons.ListRV(ctx); err != nil {
				log.V(1).Info("Listing quota singletons to watch them", "reason", err.Error())
				sleep(ctx, retryPause)
				continue
			}
			h.forget()
		}
		w, err := singletons.Watch(ctx, rv)
		if err != nil {
			log.V(1).Info("Watching quota singletons", "reason", err.Error())
			rv = ""
			sleep(ctx, retryPause)
			continue
		}
		rv = h.drain(w, rv)
	}
}

// drain handles w's events until it closes and returns the resourceVersion
// to watch from next ("" to list again).
func (h *history) drain(w watch.Interface, rv string) string {
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			err := apierrors.FromObject(ev.Object)
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				return ""
			}
			return rv
		}
		rq, ok := ev.Object.(*corev1.ResourceQuota)
		if !ok {
			continue
		}
		rv = rq.ResourceVersion
		if ev.Type != watch.Bookmark {
			h.observe(ev.Type, rq)
		}
	}
	return rv
}

// ListWatchSingletons is the SingletonWatcher of a typed client.
type ListWatchSingletons struct {
	Lister interface {
		List(ctx context.Context, opts metav1.ListOptions) (*corev1.ResourceQuotaList, error)
		Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	}
}

// ListRV lists one singleton, for the list's resourceVersion.
func (l ListWatchSingletons) ListRV(ctx context.Context) (string, error) {
	list, err := l.Lister.List(ctx, metav1.ListOptions{LabelSelector: LabelSingleton + "=true", Limit: 1})
	if err != nil {
		return "", err
	}
	return list.ResourceVersion, nil
}

// Watch watches every singleton from rv, with bookmarks.
func (l ListWatchSingletons) Watch(ctx context.Context, rv string) (watch.Interface, error) {
	return l.Lister.Watch(ctx, metav1.ListOptions{LabelSelector: LabelSingleton + "=true", ResourceVersion: rv, AllowWatchBookmarks: true})
}
