package propagation

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

// Options configure the Propagator.
type Options struct {
	// Config holds the never-propagate labels and the stripped keys.
	Config policy.Config
	// Modes holds the opt-in safety option.
	Modes policy.ModeOptions
	// Workers bounds the concurrent work items (and so the parallel
	// writes) across all types. Zero means DefaultWorkers.
	Workers int
	// ForestReady blocks until the forest has loaded every namespace and
	// parent, or ctx ends. Workers start only after it returns nil.
	ForestReady func(ctx context.Context) error
	// Elected is closed when this replica becomes the leader (the
	// manager's Elected channel).
	Elected <-chan struct{}
	// Subscribe registers fn to be called, until ctx ends, with the
	// namespaces whose ancestry, labels or halted state may have changed
	// (forestsync.Syncer.Subscribe). fn does not block.
	Subscribe func(ctx context.Context, fn func(names []string))
	// Notify asks for the named namespaces' HierarchyConfiguration status
	// to be written again after a condition changed in the forest
	// (forestsync.Syncer.Notify).
	Notify func(names []string)
}

// DefaultWorkers is the default bound on concurrent work items. Each is a
// write, a round trip to the API server, so propagation goes about as fast
// as there are workers: 64, as many as the unthrottled floor's writers
// (docs/scale.md; 16 took 4× the floor at 1,000 namespaces). API Priority
// and Fairness queues them if the server is busy.
const DefaultWorkers = 64

// Deps are the Propagator's collaborators.
type Deps struct {
	Cache  cache.Cache
	Client client.Client
	// APIReader reads uncached; used to probe read access to a type
	// before watching it. Optional.
	APIReader client.Reader
	Mapper    meta.RESTMapper
	Forest    *forest.Forest
	Recorder  events.EventRecorder
	Log       logr.Logger
}

// TypeStatus is the state of one configured type, for HNCConfiguration
// status.
type TypeStatus struct {
	GroupResource schema.GroupResource
	// Version is the version propagated (empty if the type is unknown).
	Version string
	Mode    api.SynchronizationMode
	// Err is set when the type cannot be propagated at all (unknown
	// resource, cluster-scoped resource).
	Err error
	// ErrReason is HNC's condition reason for Err.
	ErrReason string
	// Forbidden lists the verbs the manager was refused while writing
	// copies of this type, sorted.
	Forbidden []string
	// Sources and Propagated count the source objects and the copies.
	Sources, Propagated int
}

// Propagator keeps one typeSyncer per propagated type. It runs on every
// replica; see the package documentation.
type Propagator struct {
	Deps
	opts Options
	sem  chan struct{}

	// changes is poked when status-relevant state changes (a type
	// starts or stops, a write is forbidden, a queue drains).
	changes chan event.GenericEvent

	mu      sync.Mutex
	ctx     context.Context
	specErr error
	types   map[schema.GroupResource]*typeSyncer
	// stopping holds the done channels of stopped syncers: a syncer
	// started again for the same type waits for its predecessor, so the
	// old one cannot forget the new one's sources.
	stopping map[schema.GroupResource]<-chan struct{}
	// broken holds types that could not start, with HNC's reason.
	broken map[schema.GroupResource]TypeStatus

	// roleConflicts holds, per namespace, the RoleBindings held back from
	// it and why (see setRoleConflict).
	conflictMu    sync.Mutex
	roleConflicts map[string]map[string]string
}

// New returns a Propagator. Add it to the manager; it does not need leader
// election.
func New(deps Deps, opts Options) *Propagator {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	return &Propagator{
		Deps:     deps,
		opts:     opts,
		sem:      make(chan struct{}, opts.Workers),
		changes:  make(chan event.GenericEvent, 1),
		types:    map[schema.GroupResource]*typeSyncer{},
		stopping: map[schema.GroupResource]<-chan struct{}{},
		broken:   map[schema.GroupResource]TypeStatus{},

		roleConflicts: map[string]map[string]string{},
	}
}

// NeedLeaderElection is false: every replica records sources in the
// forest for its webhooks; only the leader's workers write.
func (p *Propagator) NeedLeaderElection() bool { return false }

// Changes delivers a (coalesced) event whenever TypeStatuses may have
// changed; the HNCConfiguration reconciler watches it.
func (p *Propagator) Changes() <-chan event.GenericEvent { return p.changes }

func (p *Propagator) notify() {
	cfg := &api.HNCConfiguration{}
	cfg.Name = api.HNCConfigSingleton
	select {
	case p.changes <- event.GenericEvent{Object: cfg}:
	default:
	}
}

// Start watches HNCConfiguration and the hierarchy until ctx ends.
func (p *Propagator) Start(ctx context.Context) error {
	p.mu.Lock()
	p.ctx = ctx
	p.mu.Unlock()
	// Roles and RoleBindings propagate even before any HNCConfiguration
	// exists.
	p.ApplySpec(api.HNCConfigurationSpec{})

	cfgInf, err := p.Cache.GetInformer(ctx, &api.HNCConfiguration{})
	if err != nil {
		return fmt.Errorf("watching HNCConfiguration: %w", err)
	}
	if _, err := cfgInf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.onConfig(obj) },
		UpdateFunc: func(_, obj any) { p.onConfig(obj) },
		DeleteFunc: func(any) { p.ApplySpec(api.HNCConfigurationSpec{}) },
	}); err != nil {
		return fmt.Errorf("watching HNCConfiguration: %w", err)
	}
	if p.opts.Subscribe != nil {
		p.opts.Subscribe(ctx, func(names []string) { p.ResyncNamespaces(names...) })
	}
	<-ctx.Done()
	// The syncers' contexts derive from ctx: they are stopping too.
	return nil
}

func (p *Propagator) onConfig(obj any) {
	cfg, ok := obj.(*api.HNCConfiguration)
	if !ok || cfg.Name != api.HNCConfigSingleton {
		return
	}
	p.ApplySpec(cfg.Spec)
}

// ResyncNamespaces makes every propagated type re-check the named
// namespaces: the names they inherit and the copies they hold. Hierarchy
// notifications call it with the namespaces whose ancestry changed.
func (p *Propagator) ResyncNamespaces(names ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.types {
		for _, nm := range names {
			s.enqueueNamespace(nm)
		}
	}
}

// ApplySpec starts, stops and re-moves typeSyncers to match spec.
func (p *Propagator) ApplySpec(spec api.HNCConfigurationSpec) {
	modes, specErr := policy.ParseModes(spec, p.opts.Modes)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.specErr = specErr
	if p.ctx == nil {
		return
	}
	p.broken = map[schema.GroupResource]TypeStatus{}
	for gr, s := range p.types {
		if mode := modes.Mode(gr); mode == api.Ignore {
			s.stop()
			p.stopping[gr] = s.done
			delete(p.types, gr)
		}
	}
	for gr, mode := range modes {
		if mode == api.Ignore {
			continue
		}
		if s := p.types[gr]; s != nil {
			s.setMode(mode)
			continue
		}
		gvk, reason, err := p.resolve(gr)
		if err != nil {
			p.broken[gr] = TypeStatus{GroupResource: gr, Mode: mode, Err: err, ErrReason: reason}
			continue
		}
		s := newTypeSyncer(p, gr, gvk, mode)
		p.types[gr] = s
		s.start(p.ctx, p.stopping[gr])
		delete(p.stopping, gr)
	}
	p.notify()
}

// resolve maps a configured group and resource to the kind to watch.
func (p *Propagator) resolve(gr schema.GroupResource) (schema.GroupVersionKind, string, error) {
	gvk, err := p.Mapper.KindFor(gr.WithVersion(""))
	if err != nil {
		return schema.GroupVersionKind{}, api.ReasonResourceNotFound, fmt.Errorf("resource %q not found: %w", gr.String(), err)
	}
	m, err := p.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return schema.GroupVersionKind{}, api.ReasonResourceNotFound, fmt.Errorf("resource %q not found: %w", gr.String(), err)
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return schema.GroupVersionKind{}, api.ReasonResourceNotNamespaced, fmt.Errorf("resource %q is not namespaced", gr.String())
	}
	return gvk, "", nil
}

// SpecError is ParseModes' error for the last spec applied.
func (p *Propagator) SpecError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.specErr
}

// ModeForKind returns the mode of a propagated kind; ok is false for kinds
// that are not being propagated (Ignore or unconfigured).
func (p *Propagator) ModeForKind(gk schema.GroupKind) (api.SynchronizationMode, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.types {
		if s.gvk.GroupKind() == gk {
			return s.mode(), true
		}
	}
	return "", false
}

// KindFor returns the kind watched for a configured type, if it is.
func (p *Propagator) KindFor(gr schema.GroupResource) (schema.GroupVersionKind, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.types[gr]; s != nil {
		return s.gvk, true
	}
	return schema.GroupVersionKind{}, false
}

// TypeStatuses reports every type that is propagated or failed to start,
// sorted by group and resource. Counting copies lists the cache: O(copies).
func (p *Propagator) TypeStatuses(ctx context.Context) ([]TypeStatus, error) {
	p.mu.Lock()
	syncers := make([]*typeSyncer, 0, len(p.types))
	for _, s := range p.types {
		syncers = append(syncers, s)
	}
	out := make([]TypeStatus, 0, len(p.types)+len(p.broken))
	for _, b := range p.broken {
		out = append(out, b)
	}
	p.mu.Unlock()

	var errs []error
	for _, s := range syncers {
		st, err := s.status(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GroupResource.Group != out[j].GroupResource.Group {
			return out[i].GroupResource.Group < out[j].GroupResource.Group
		}
		return out[i].GroupResource.Resource < out[j].GroupResource.Resource
	})
	return out, errors.Join(errs...)
}
