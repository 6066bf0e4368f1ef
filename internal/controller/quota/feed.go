package quota

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/canopyhq/canopy/internal/quota"
)

// feedLogMax bounds how many changes a SingletonFeed remembers; a snapshot
// built before the oldest of them is rebuilt from the whole feed.
const feedLogMax = 8192

// SingletonFeed holds the quota singletons the manager's informer holds,
// by namespace, kept from the informer's events, with the order in which
// namespaces changed. An admission of a large tree then patches its cached
// snapshot with the few singletons that changed since (SnapshotFed)
// instead of listing every singleton of the cluster from the cache: that
// List, with the maps built from it, was O(tree) per admission and most
// of the status webhook's time at 3,000 namespaces (`make bench`, 24 ms
// per call at 3,000 beside 5 ms at 10).
//
// The feed may lag the informer's store by the time an event takes to be
// handled, so it is a reading of the cache like any other: possibly stale,
// never ahead of what the API server committed. The objects are the
// informer's own and are never modified.
type SingletonFeed struct {
	mu   sync.Mutex
	byNS map[string]map[string]*corev1.ResourceQuota
	// seq counts the changes; log holds the namespace of each of the last
	// ones, log[i] being change base+i+1.
	seq, base uint64
	log       []string
	synced    toolscache.InformerSynced
	// clamped holds the singletons marked AnnotationClampedAt, by
	// namespace and name: few, and only near a full tree (Clamped).
	clamped map[string]map[string]*corev1.ResourceQuota
	// grewAt holds, by namespace, when the feed last saw one of its
	// singletons' status.used grow (Charged).
	grewAt map[string]time.Time
	// LogMax, if set, replaces feedLogMax.
	LogMax int
	// Now defaults to time.Now.
	Now func() time.Time
}

// Handler returns the informer event handler that keeps the feed.
func (f *SingletonFeed) Handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { f.put(obj) },
		UpdateFunc: func(_, obj any) { f.put(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if rq, ok := obj.(*corev1.ResourceQuota); ok {
				f.set(rq.Namespace, rq.Name, nil)
			}
		},
	}
}

// SetSynced tells the feed how to know it has seen every object the
// informer listed (the handler registration's HasSynced).
func (f *SingletonFeed) SetSynced(s toolscache.InformerSynced) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.synced = s
}

// Synced reports whether the feed holds every singleton the informer
// listed; a nil feed never has.
func (f *SingletonFeed) Synced() bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	s := f.synced
	f.mu.Unlock()
	return s != nil && s()
}

func (f *SingletonFeed) put(obj any) {
	rq, ok := obj.(*corev1.ResourceQuota)
	if !ok {
		return
	}
	if !IsSingleton(rq.Labels) {
		// A ResourceQuota that is not (or no longer) a singleton.
		f.set(rq.Namespace, rq.Name, nil)
		return
	}
	f.set(rq.Namespace, rq.Name, rq)
}

// set records rq as ns/name, or its removal when rq is nil.
func (f *SingletonFeed) set(ns, name string, rq *corev1.ResourceQuota) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setClamped(ns, name, rq)
	byName := f.byNS[ns]
	f.noteGrowth(ns, byName[name], rq)
	if rq == nil {
		if _, ok := byName[name]; !ok {
			return
		}
		delete(byName, name)
		if len(byName) == 0 {
			delete(f.byNS, ns)
			delete(f.grewAt, ns)
		}
	} else {
		if byName == nil {
			if f.byNS == nil {
				f.byNS = map[string]map[string]*corev1.ResourceQuota{}
			}
			byName = map[string]*corev1.ResourceQuota{}
			f.byNS[ns] = byName
		}
		byName[name] = rq
	}
	f.seq++
	f.log = append(f.log, ns)
	logMax := feedLogMax
	if f.LogMax > 0 {
		logMax = f.LogMax
	}
	if len(f.log) > logMax {
		drop := len(f.log) - logMax/2
		f.log = append(f.log[:0:0], f.log[drop:]...)
		f.base += uint64(drop)
	}
}

// Read returns the singletons of namespaces, by namespace, as
// ReadSingletons does, and the feed's change count they are current at.
func (f *SingletonFeed) Read(namespaces []string) (map[string][]corev1.ResourceQuota, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]corev1.ResourceQuota, len(namespaces))
	for _, ns := range namespaces {
		f.readLocked(out, ns)
	}
	return out, f.seq
}

// ChangedSince returns the singletons of every namespace that contains
// reports and that changed after change seq (an empty list for one left
// with none), and the change count they are current at. ok is false when
// the feed no longer remembers every change since seq.
func (f *SingletonFeed) ChangedSince(seq uint64, contains func(string) bool) (changed map[string][]corev1.ResourceQuota, now uint64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if seq < f.base || seq > f.seq {
		return nil, f.seq, false
	}
	changed = map[string][]corev1.ResourceQuota{}
	for _, ns := range f.log[seq-f.base:] {
		if _, seen := changed[ns]; seen || !contains(ns) {
			continue
		}
		changed[ns] = nil
		f.readLocked(changed, ns)
	}
	return changed, f.seq, true
}

// setClamped keeps f.clamped: rq when it is clamped, else nothing, as
// ns/name.
func (f *SingletonFeed) setClamped(ns, name string, rq *corev1.ResourceQuota) {
	if rq != nil && isClamped(*rq) {
		if f.clamped == nil {
			f.clamped = map[string]map[string]*corev1.ResourceQuota{}
		}
		if f.clamped[ns] == nil {
			f.clamped[ns] = map[string]*corev1.ResourceQuota{}
		}
		f.clamped[ns][name] = rq
		return
	}
	delete(f.clamped[ns], name)
	if len(f.clamped[ns]) == 0 {
		delete(f.clamped, ns)
	}
}

// Clamped returns the clamped singletons (AnnotationClampedAt) of every
// namespace that contains reports, without looking at the others.
func (f *SingletonFeed) Clamped(contains func(string) bool) []corev1.ResourceQuota {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []corev1.ResourceQuota
	for ns, byName := range f.clamped {
		if !contains(ns) {
			continue
		}
		for _, rq := range byName {
			out = append(out, *rq)
		}
	}
	return out
}

func (f *SingletonFeed) readLocked(out map[string][]corev1.ResourceQuota, ns string) {
	for _, rq := range f.byNS[ns] {
		out[ns] = append(out[ns], *rq)
	}
}

// noteGrowth records when ns's singleton grew from was to rq: a charge, as
// far as the feed can tell (a singleton first seen with usage counts too).
func (f *SingletonFeed) noteGrowth(ns string, was, rq *corev1.ResourceQuota) {
	if rq == nil {
		return
	}
	var before corev1.ResourceList
	if was != nil {
		before = was.Status.Used
	}
	if !quota.Grows(before, rq.Status.Used) {
		return
	}
	if f.grewAt == nil {
		f.grewAt = map[string]time.Time{}
	}
	if f.Now != nil {
		f.grewAt[ns] = f.Now()
	} else {
		f.grewAt[ns] = time.Now()
	}
}

// Charged returns when the feed last saw a singleton of ns grow (the zero
// time if it never has), and the resourceVersion at which it holds
// ns/name (zero if it does not): at rv or later, every growth up to rv is
// among those it saw.
func (f *SingletonFeed) Charged(ns, name string) (grew time.Time, at uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rq := f.byNS[ns][name]; rq != nil {
		at = quota.ParseRV(rq.ResourceVersion)
	}
	return f.grewAt[ns], at
}
