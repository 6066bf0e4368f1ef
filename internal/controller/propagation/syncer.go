package propagation

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// typeSyncer propagates one type. Its queue holds work items: a
// NamespacedName with a Name is one object; one with an empty Name is a
// whole namespace, expanded by the worker (object names are never empty).
type typeSyncer struct {
	p   *Propagator
	gr  schema.GroupResource
	gvk schema.GroupVersionKind
	log logr.Logger

	queue  workqueue.TypedRateLimitingInterface[types.NamespacedName]
	cancel context.CancelFunc
	done   chan struct{}

	// synced is set once the informer has delivered its initial list into
	// the forest and the forest has loaded: only then are counts right.
	synced atomic.Bool
	// copies counts the objects of this type carrying the inherited-from
	// label, kept by the informer handler (countCopy), so that the
	// HNCConfiguration status does not list every copy each time a queue
	// empties (8% of the manager's CPU while propagating to 3,000
	// namespaces, docs/scale.md).
	copies atomic.Int64

	mu        sync.Mutex
	m         api.SynchronizationMode
	forbidden map[string]bool
}

func newTypeSyncer(p *Propagator, gr schema.GroupResource, gvk schema.GroupVersionKind, mode api.SynchronizationMode) *typeSyncer {
	return &typeSyncer{
		p:   p,
		gr:  gr,
		gvk: gvk,
		log: p.Log.WithValues("type", gr.String()),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName](),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "propagation-" + gr.String()}),
		done:      make(chan struct{}),
		m:         mode,
		forbidden: map[string]bool{},
	}
}

func (s *typeSyncer) mode() api.SynchronizationMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m
}

// setMode changes the mode and, if it changed, re-checks every namespace.
func (s *typeSyncer) setMode(mode api.SynchronizationMode) {
	s.mu.Lock()
	changed := s.m != mode
	s.m = mode
	s.forbidden = map[string]bool{}
	s.mu.Unlock()
	if changed {
		s.log.Info("Propagation mode changed", "mode", mode)
		s.resyncAll()
	}
}

func (s *typeSyncer) newObject() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(s.gvk)
	return u
}

// start registers the informer handler at once (on every replica) and,
// once the forest has loaded and this replica leads, the workers.
func (s *typeSyncer) start(parent context.Context, after <-chan struct{}) {
	ctx, cancel := context.WithCancel(parent)
	s.cancel = cancel
	go func() {
		defer close(s.done)
		defer s.queue.ShutDown()
		if after != nil {
			<-after
		}
		if err := s.run(ctx); err != nil && ctx.Err() == nil {
			s.log.Error(err, "Propagation stopped")
		}
	}()
}

func (s *typeSyncer) run(ctx context.Context) error {
	if err := s.waitReadable(ctx); err != nil {
		return err
	}
	inf, err := s.p.Cache.GetInformer(ctx, s.newObject())
	if err != nil {
		return fmt.Errorf("watching %s: %w", s.gr, err)
	}
	s.copies.Store(0)
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			s.countCopy(nil, obj)
			s.onUpsert(obj)
		},
		UpdateFunc: func(old, obj any) {
			s.countCopy(old, obj)
			s.onUpsert(obj)
		},
		DeleteFunc: func(obj any) {
			s.countCopy(obj, nil)
			s.onDelete(obj)
		},
	})
	if err != nil {
		return fmt.Errorf("watching %s: %w", s.gr, err)
	}
	defer func() {
		_ = inf.RemoveEventHandler(reg)
		s.forgetSources()
	}()
	if !toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
		return nil
	}
	if s.p.opts.ForestReady != nil {
		if err := s.p.opts.ForestReady(ctx); err != nil {
			return fmt.Errorf("waiting for the forest: %w", err)
		}
	}
	s.synced.Store(true)
	defer s.synced.Store(false)
	select {
	case <-ctx.Done():
		return nil
	case <-s.p.opts.Elected:
	}
	s.log.Info("Starting propagation", "kind", s.gvk.String(), "mode", s.mode())
	s.resyncAll()
	var wg sync.WaitGroup
	for range s.p.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	s.queue.ShutDown()
	wg.Wait()
	return nil
}

// readRetry is how often a type the manager may not list is probed again.
const readRetry = 30 * time.Second

// waitReadable probes that the manager may list the type before starting
// an informer, which would otherwise never sync. While the list is
// forbidden, "list" is reported (an OutOfSync condition on
// HNCConfiguration) and the probe is retried: RBAC is granted by the
// administrator per type, at any time.
func (s *typeSyncer) waitReadable(ctx context.Context) error {
	if s.p.APIReader == nil {
		return nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(s.gvk.GroupVersion().WithKind(s.gvk.Kind + "List"))
	return wait.PollUntilContextCancel(ctx, readRetry, true, func(ctx context.Context) (bool, error) {
		err := s.p.APIReader.List(ctx, list, client.Limit(1))
		switch {
		case err == nil:
			s.clearForbidden("list")
			return true, nil
		case apierrors.IsForbidden(err):
			s.log.Info("The manager may not list this type; retrying", "every", readRetry)
			s.setForbidden("list")
			return false, nil
		default:
			s.log.Error(err, "Probing read access")
			return false, nil
		}
	})
}

// stop ends the workers and the handler, and drops this type's sources
// from the forest (asynchronously: s.done closes when that is over);
// copies already written stay (Ignore leaves them).
func (s *typeSyncer) stop() {
	s.cancel()
	s.log.Info("Stopping propagation")
}

func (s *typeSyncer) forgetSources() {
	f := s.p.Forest
	f.Lock()
	defer f.Unlock()
	for _, nm := range f.List() {
		ns := f.Lookup(nm)
		for _, name := range ns.GetSourceNames(s.gvk) {
			ns.DeleteSourceObject(s.gvk, name)
		}
	}
}

// resyncAll enqueues every namespace the forest knows: once per start or
// mode change.
func (s *typeSyncer) resyncAll() {
	s.p.Forest.Lock()
	names := s.p.Forest.List()
	s.p.Forest.Unlock()
	for _, nm := range names {
		s.enqueueNamespace(nm)
	}
}

func (s *typeSyncer) enqueueNamespace(ns string) {
	s.queue.Add(types.NamespacedName{Namespace: ns})
}

func (s *typeSyncer) processNext(ctx context.Context) bool {
	key, shutdown := s.queue.Get()
	if shutdown {
		return false
	}
	defer s.queue.Done(key)
	select {
	case s.p.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	err := s.process(ctx, key)
	<-s.p.sem
	if err != nil {
		s.log.Error(err, "Propagating", "namespace", key.Namespace, "name", key.Name)
		s.queue.AddRateLimited(key)
	} else {
		s.queue.Forget(key)
	}
	if s.queue.Len() == 0 {
		s.p.notify()
	}
	return true
}

func (s *typeSyncer) process(ctx context.Context, key types.NamespacedName) error {
	if key.Name == "" {
		return s.expandNamespace(ctx, key.Namespace)
	}
	return s.sync(ctx, key)
}

// expandNamespace enqueues every name the namespace may inherit and every
// copy it holds: O(sources of its ancestors + its own objects).
func (s *typeSyncer) expandNamespace(ctx context.Context, ns string) error {
	names := map[string]bool{}
	s.p.Forest.Lock()
	if n := s.p.Forest.Lookup(ns); n != nil {
		for _, src := range n.GetPropagatedSources(s.gvk) {
			names[src.GetName()] = true
		}
	}
	s.p.Forest.Unlock()
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(s.gvk.GroupVersion().WithKind(s.gvk.Kind + "List"))
	if err := s.p.Cache.List(ctx, list, client.InNamespace(ns), client.HasLabels{api.LabelInheritedFrom}); err != nil {
		return fmt.Errorf("listing copies in %q: %w", ns, err)
	}
	for _, obj := range list.Items {
		names[obj.GetName()] = true
	}
	sorted := make([]string, 0, len(names))
	for nm := range names {
		sorted = append(sorted, nm)
	}
	sort.Strings(sorted)
	for _, nm := range sorted {
		s.queue.Add(types.NamespacedName{Namespace: ns, Name: nm})
	}
	return nil
}
