package propagation

import (
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

// roleChanged runs for every Role event: a RoleBinding copied into (or held
// back from) ns may now resolve to another Role, so the RoleBindings of ns
// are checked again.
func (p *Propagator) roleChanged(gvk schema.GroupVersionKind, ns string) {
	if gvk.GroupKind() != policy.RoleKind {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.types {
		if s.gvk.GroupKind() == policy.RoleBindingKind {
			s.queue.Add(types.NamespacedName{Namespace: ns})
		}
	}
}

// setRoleConflict records (msg non-empty) or clears why RoleBinding name is
// held back from ns, and keeps ns's RoleConflict condition (in the forest,
// written to its HierarchyConfiguration by the hierarchy reconciler) in
// step: one condition per namespace, its message listing every binding
// held back.
func (p *Propagator) setRoleConflict(ns, name, msg string) {
	p.conflictMu.Lock()
	defer p.conflictMu.Unlock()
	byName := p.roleConflicts[ns]
	if byName[name] == msg {
		return
	}
	if msg == "" {
		delete(byName, name)
		if len(byName) == 0 {
			delete(p.roleConflicts, ns)
		}
	} else {
		if byName == nil {
			byName = map[string]string{}
			p.roleConflicts[ns] = byName
		}
		byName[name] = msg
	}
	var msgs []string
	for _, k := range slices.Sorted(maps.Keys(byName)) {
		msgs = append(msgs, byName[k])
	}
	f := p.Forest
	f.Lock()
	changed := false
	if n := f.Lookup(ns); n != nil {
		if len(msgs) == 0 {
			changed = n.ClearLocalCondition(forest.ReasonRoleConflict)
		} else {
			changed = n.SetLocalCondition(forest.ReasonRoleConflict, strings.Join(msgs, "; "))
		}
	}
	f.Unlock()
	if changed && p.opts.Notify != nil {
		p.opts.Notify([]string{ns})
	}
}
