package forestsync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/crdstate"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
)

// ErrNotLoaded is returned, and its message shown to users by fail-closed
// webhooks, until the forest has loaded.
var ErrNotLoaded = errors.New("Canopy is starting: the namespace hierarchy has not finished loading; retry in a few seconds") //nolint:staticcheck // user-facing message, capitalised product name

// Syncer fills a forest from the manager's informers. Create it with New
// and add it to the manager with SetupWithManager.
type Syncer struct {
	forest *forest.Forest
	cache  cache.Cache
	// reads is where resync reads namespace state: the cache.
	reads client.Reader

	loaded   atomic.Bool
	loadedCh chan struct{}

	// syncMu serialises read-then-apply, so the last apply always reflects
	// the newest cache contents whatever order the informers deliver in.
	syncMu sync.Mutex

	mu     sync.Mutex
	nextID int
	subs   map[int]func([]string)

	// reader reads the HierarchyConfiguration CRD, uncached, when a
	// HierarchyConfiguration goes; crdDeleting is set, for good, once that
	// CRD is being deleted (see haltForCRDDeletion).
	reader      client.Reader
	crdDeleting atomic.Bool
}

// hcCRD is the HierarchyConfiguration CRD's name.
const hcCRD = api.HierarchyConfigurations + "." + api.MetaGroup

// deletingCRDMessage is HNC's message for the DeletingCRD condition.
const deletingCRDMessage = "The HierarchyConfiguration CRD is being deleted; all propagation is disabled."

// New returns a Syncer for f. Add it to a manager with SetupWithManager;
// subscribers may Subscribe or take its Source before that.
func New(f *forest.Forest) *Syncer {
	return &Syncer{forest: f, loadedCh: make(chan struct{}), subs: map[int]func([]string){}}
}

// SetupWithManager makes the Syncer read mgr's cache, adds it to mgr and
// adds the "forest" readiness check.
func (s *Syncer) SetupWithManager(mgr ctrl.Manager) error {
	s.cache = mgr.GetCache()
	s.reads = s.cache
	s.reader = mgr.GetAPIReader()
	if err := mgr.Add(s); err != nil {
		return fmt.Errorf("adding forest syncer: %w", err)
	}
	if err := mgr.AddReadyzCheck("forest", s.ReadyCheck); err != nil {
		return fmt.Errorf("adding forest readiness check: %w", err)
	}
	return nil
}

// NeedLeaderElection is false: every replica serves webhooks, so every
// replica needs the forest.
func (s *Syncer) NeedLeaderElection() bool { return false }

// Start registers the event handlers, waits until the initial lists have
// been applied, marks the forest loaded and then blocks until ctx ends.
func (s *Syncer) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("forestsync")
	kinds := []struct {
		obj   client.Object
		names func(obj any) []string
	}{
		{&corev1.Namespace{}, namespaceNames},
		{&api.HierarchyConfiguration{}, hierarchyNames},
		{&api.SubnamespaceAnchor{}, anchorNames},
	}
	var regs []toolscache.ResourceEventHandlerRegistration
	for _, k := range kinds {
		inf, err := s.cache.GetInformer(ctx, k.obj)
		if err != nil {
			return fmt.Errorf("getting informer for %T: %w", k.obj, err)
		}
		names := k.names
		_, isHC := k.obj.(*api.HierarchyConfiguration)
		reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { s.resync(ctx, names(obj)) },
			UpdateFunc: func(_, obj any) {
				if o, ok := obj.(client.Object); ok && isHC && o.GetDeletionTimestamp() != nil {
					_ = s.checkCRDDeletion(ctx) // logged; the resync below checks again
				}
				s.resync(ctx, names(obj))
			},
			DeleteFunc: func(obj any) {
				if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
					obj = tomb.Obj
				}
				if isHC {
					// Before the parent is forgotten: if the whole CRD
					// is going, halt first so nothing is unpropagated.
					_ = s.checkCRDDeletion(ctx) // logged; the resync below checks again
				}
				s.resync(ctx, names(obj))
			},
		})
		if err != nil {
			return fmt.Errorf("adding event handler for %T: %w", k.obj, err)
		}
		regs = append(regs, reg)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), func() bool {
		for _, r := range regs {
			if !r.HasSynced() {
				return false
			}
		}
		return true
	}) {
		return nil // ctx ended before the lists loaded
	}
	all := s.markLoaded()
	log.Info("Forest loaded", "namespaces", len(all))
	<-ctx.Done()
	return nil
}

// markLoaded marks the forest loaded and tells every subscriber that
// every namespace changed. It returns the namespaces.
func (s *Syncer) markLoaded() []string {
	// Loaded first, then the list: a change applied before the list is
	// in it, and one notified after Loaded is enqueued by Source itself.
	s.loaded.Store(true)
	close(s.loadedCh)
	s.forest.Lock()
	all := s.forest.List()
	s.forest.Unlock()
	s.Notify(all)
	return all
}

// Loaded reports whether the initial lists are in the forest.
func (s *Syncer) Loaded() bool { return s.loaded.Load() }

// WaitLoaded blocks until the forest has loaded or ctx ends.
func (s *Syncer) WaitLoaded(ctx context.Context) error {
	select {
	case <-s.loadedCh:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the forest to load: %w", ctx.Err())
	}
}

// ReadyCheck is a healthz.Checker that passes once the forest has loaded.
func (s *Syncer) ReadyCheck(*http.Request) error {
	if !s.Loaded() {
		return ErrNotLoaded
	}
	return nil
}

// Subscribe calls fn with the names of namespaces whose derived state may
// have changed, after every change, until ctx ends. fn must not block: it
// runs on the informers' goroutines (enqueueing into a workqueue is fine).
func (s *Syncer) Subscribe(ctx context.Context, fn func(names []string)) {
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.subs[id] = fn
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
	})
}

// Notify hands names to every subscriber. Reconcilers call it when they
// change the forest themselves (conditions that halt a subtree).
func (s *Syncer) Notify(names []string) {
	if len(names) == 0 {
		return
	}
	s.mu.Lock()
	subs := make([]func([]string), 0, len(s.subs))
	for _, fn := range s.subs {
		subs = append(subs, fn)
	}
	s.mu.Unlock()
	for _, fn := range subs {
		fn(names)
	}
}

// Source is a controller source that enqueues every changed namespace as a
// cluster-scoped request (Name set, Namespace empty). It subscribes when the
// controller starts, so a non-leader's idle controller never buffers.
//
// Until the forest has loaded it enqueues nothing: a namespace listed
// before its parent would be reconciled against a partial tree (tree
// labels dropped, ParentMissing set, both undone a moment later), so every
// restart would write. The load's everything-changed notification then
// enqueues every namespace once.
func (s *Syncer) Source() source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		enqueue := func(names []string) {
			if !s.Loaded() {
				return
			}
			for _, nm := range names {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: nm}})
			}
		}
		s.Subscribe(ctx, enqueue)
		// A controller that starts after the forest loaded (a leader
		// elected later) missed the everything-changed notification that
		// adopts objects written while no manager ran: enqueue all now.
		// Names seen twice are merged by the queue.
		if s.Loaded() {
			s.forest.Lock()
			all := s.forest.List()
			s.forest.Unlock()
			enqueue(all)
		}
		return nil
	})
}

// checkCRDDeletion halts the whole forest once the HierarchyConfiguration
// CRD is being deleted. The API server then deletes every
// HierarchyConfiguration, which would make every namespace a root and
// remove every propagated copy (RoleBindings first): an uninstall must
// leave objects as they are, so every namespace gets HNC's
// ActivitiesHalted/DeletingCRD condition, and propagation leaves halted
// namespaces alone. The halt lasts until the manager restarts (with the
// CRD gone it cannot work anyway). One uncached read per deleted
// HierarchyConfiguration and per parent a resync would forget, until the
// halt.
func (s *Syncer) checkCRDDeletion(ctx context.Context) error {
	if s.reader == nil || s.crdDeleting.Load() {
		return nil
	}
	deleting, err := crdstate.Deleting(ctx, s.reader, hcCRD)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Checking whether the HierarchyConfiguration CRD is being deleted")
		return err
	}
	if !deleting {
		return nil
	}
	s.crdDeleting.Store(true)
	ctrl.LoggerFrom(ctx).Info("The HierarchyConfiguration CRD is being deleted; halting all propagation")
	s.forest.Lock()
	all := s.forest.List()
	for _, nm := range all {
		s.forest.Lookup(nm).SetLocalCondition(forest.ReasonDeletingCRD, deletingCRDMessage)
	}
	s.forest.Unlock()
	s.Notify(all)
	return nil
}

// resync reads each named namespace's state from the cache and applies it.
func (s *Syncer) resync(ctx context.Context, names []string) {
	s.syncMu.Lock()
	var affected []string
	for _, nm := range names {
		st, err := s.read(ctx, nm)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Reading namespace state from the cache", "namespace", nm)
			continue
		}
		if s.losesParent(nm, st) {
			// The cache may already lack a HierarchyConfiguration whose
			// delete handler has not run yet (stores are updated before
			// handlers are called): halt first if its CRD is going. If
			// that cannot be told, keep the parent; the delete handler
			// resyncs this namespace again.
			if err := s.checkCRDDeletion(ctx); err != nil {
				continue
			}
		}
		s.forest.Lock()
		affected = append(affected, Apply(s.forest, nm, st)...)
		if s.crdDeleting.Load() {
			if ns := s.forest.Lookup(nm); ns != nil {
				ns.SetLocalCondition(forest.ReasonDeletingCRD, deletingCRDMessage)
			}
		}
		s.forest.Unlock()
	}
	s.syncMu.Unlock()
	s.Notify(affected)
}

// losesParent reports whether applying st would forget the parent the
// forest holds for the named namespace.
func (s *Syncer) losesParent(name string, st State) bool {
	s.forest.Lock()
	defer s.forest.Unlock()
	ns := s.forest.Lookup(name)
	return st.Exists && st.Parent == "" && ns != nil && ns.Parent() != nil
}

// read collects a namespace's State from the cache.
func (s *Syncer) read(ctx context.Context, name string) (State, error) {
	var st State
	ns := &corev1.Namespace{}
	if err := s.reads.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return st, nil
		}
		return st, fmt.Errorf("getting namespace: %w", err)
	}
	st.Exists = true
	st.Labels = ns.Labels
	st.SubnamespaceOf = ns.Annotations[api.SubnamespaceOf]

	hc := &api.HierarchyConfiguration{}
	hcFound := false
	switch err := s.reads.Get(ctx, client.ObjectKey{Namespace: name, Name: api.Singleton}, hc); {
	case err == nil:
		hcFound = true
		st.Parent = hc.Spec.Parent
		st.AllowCascadingDeletion = hc.Spec.AllowCascadingDeletion
		st.HCLabels, st.HCAnnotations = hc.Spec.Labels, hc.Spec.Annotations
		st.HCVersion = quota.ParseRV(hc.ResourceVersion)
	case !apierrors.IsNotFound(err):
		return st, fmt.Errorf("getting hierarchy configuration: %w", err)
	}

	anchors := &api.SubnamespaceAnchorList{}
	if err := s.reads.List(ctx, anchors, client.InNamespace(name)); err != nil {
		return st, fmt.Errorf("listing anchors: %w", err)
	}
	for _, a := range anchors.Items {
		st.Anchors = append(st.Anchors, a.Name)
	}

	if st.SubnamespaceOf != "" {
		a := &api.SubnamespaceAnchor{}
		switch err := s.reads.Get(ctx, client.ObjectKey{Namespace: st.SubnamespaceOf, Name: name}, a); {
		case err == nil:
			st.AnchorFound = true
			st.AnchorLabels, st.AnchorAnnotations = a.Spec.Labels, a.Spec.Annotations
		case !apierrors.IsNotFound(err):
			return st, fmt.Errorf("getting anchor: %w", err)
		}
	}
	if !hcFound && st.AnchorFound && !s.crdDeleting.Load() {
		// A subnamespace whose HierarchyConfiguration the hierarchy
		// reconciler has not created yet: its parent is its anchor's
		// namespace, which is what that reconciler writes (and keeps)
		// in spec.parent. Knowing it now labels the namespace once, with
		// its whole ancestry, instead of once alone and again when the
		// HierarchyConfiguration appears, and a tree built through
		// anchors grows a level without waiting for that round trip.
		st.Parent = st.SubnamespaceOf
	}
	return st, nil
}

func namespaceNames(obj any) []string {
	if ns, ok := obj.(*corev1.Namespace); ok {
		return []string{ns.Name}
	}
	return nil
}

func hierarchyNames(obj any) []string {
	if hc, ok := obj.(*api.HierarchyConfiguration); ok && hc.Name == api.Singleton {
		return []string{hc.Namespace}
	}
	return nil
}

// anchorNames names the anchor's namespace (its anchor list) and the
// subnamespace (its anchor metadata and AnchorMissing condition).
func anchorNames(obj any) []string {
	if a, ok := obj.(*api.SubnamespaceAnchor); ok {
		return []string{a.Namespace, a.Name}
	}
	return nil
}
