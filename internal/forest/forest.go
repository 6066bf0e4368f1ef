package forest

import (
	"sort"
	"sync"
)

// Forest is the set of all namespaces known to this replica. It is safe for
// concurrent use only through Lock and Unlock: hold the lock around every
// other call, including calls on the Namespaces it hands out.
type Forest struct {
	mu         sync.Mutex
	cfg        Config
	namespaces map[string]*Namespace

	// marks numbers the tree walks. A walk stamps each namespace it visits
	// with its number, which makes walks cycle safe without allocating a
	// visited set. This is sound only because every walk runs under the
	// exclusive lock; do not turn the lock into a RWMutex without replacing
	// it.
	marks uint64
	// structure counts changes of parents and existence, which are all
	// that shape the trees (StructureVersion).
	structure uint64
}

// StructureVersion changes whenever a namespace's parent or existence
// does: a copy of a tree taken at one version is still exact while the
// version stays the same.
func (f *Forest) StructureVersion() uint64 { return f.structure }

// New returns an empty forest with DefaultConfig("").
func New() *Forest { return NewWithConfig(DefaultConfig("")) }

// NewWithConfig returns an empty forest that uses cfg for exclusions and
// managed metadata.
func NewWithConfig(cfg Config) *Forest {
	return &Forest{cfg: cfg, namespaces: map[string]*Namespace{}}
}

// Lock takes the forest's lock. Keep critical sections free of I/O.
func (f *Forest) Lock() { f.mu.Lock() }

// Unlock releases the forest's lock.
func (f *Forest) Unlock() { f.mu.Unlock() }

// Config returns the configuration the forest was built with.
func (f *Forest) Config() Config { return f.cfg }

// Get returns the named namespace, creating a placeholder (Exists false) if
// it is unknown. Get("") returns nil, so Get(spec.parent) is the natural way
// to resolve an optional parent.
func (f *Forest) Get(name string) *Namespace {
	if name == "" {
		return nil
	}
	if ns, ok := f.namespaces[name]; ok {
		return ns
	}
	ns := &Namespace{forest: f, name: name}
	f.namespaces[name] = ns
	return ns
}

// Lookup returns the named namespace, or nil if the forest has no record of
// it. Unlike Get it never creates a placeholder.
func (f *Forest) Lookup(name string) *Namespace { return f.namespaces[name] }

// Len is the number of namespaces in the forest, placeholders included.
func (f *Forest) Len() int { return len(f.namespaces) }

// List returns the names of all namespaces in the forest, placeholders
// included, sorted.
func (f *Forest) List() []string {
	out := make([]string, 0, len(f.namespaces))
	for nm := range f.namespaces {
		out = append(out, nm)
	}
	sort.Strings(out)
	return out
}

// Roots returns the sorted names of namespaces without a parent. Members of
// a cycle have a parent, so a tree that ends in a cycle has no root.
func (f *Forest) Roots() []string {
	var out []string
	for nm, ns := range f.namespaces {
		if ns.parent == nil {
			out = append(out, nm)
		}
	}
	sort.Strings(out)
	return out
}

// nextMark returns a fresh walk number; see Forest.marks.
func (f *Forest) nextMark() uint64 {
	f.marks++
	return f.marks
}

// forget drops ns from the forest if nothing references it any more.
func (f *Forest) forget(ns *Namespace) {
	if ns == nil || ns.exists || len(ns.children) > 0 || ns.parent != nil || len(ns.sources) > 0 {
		return
	}
	if f.namespaces[ns.name] == ns {
		delete(f.namespaces, ns.name)
	}
}
