package propagation

import (
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// ModeOptions change how HNCConfiguration modes are read.
type ModeOptions struct {
	// OptInByDefault is the opt-in safety option: a type listed without a
	// mode gets AllowPropagate (only annotated objects propagate) instead of
	// HNC's default, Propagate.
	OptInByDefault bool
}

// Modes maps each configured resource type to its synchronization mode.
type Modes map[schema.GroupResource]api.SynchronizationMode

// ParseModes reads spec.resources of the HNCConfiguration. Roles and
// RoleBindings are always Propagate. An empty mode is Propagate (or
// AllowPropagate with OptInByDefault); an unknown mode is Ignore.
//
// The returned Modes are always usable. The error joins every problem: a
// listed enforced type, a type listed twice (the first entry wins) or an
// empty resource name; the offending entries are skipped.
func ParseModes(spec api.HNCConfigurationSpec, opts ModeOptions) (Modes, error) {
	modes := Modes{}
	for _, et := range api.EnforcedTypes {
		modes[schema.GroupResource{Group: et.Group, Resource: et.Resource}] = et.Mode
	}
	seen := map[schema.GroupResource]bool{}
	var errs []error
	for i, rs := range spec.Resources {
		gr := schema.GroupResource{Group: rs.Group, Resource: rs.Resource}
		switch {
		case rs.Resource == "":
			errs = append(errs, fmt.Errorf("spec.resources[%d]: resource must not be empty", i))
			continue
		case api.IsEnforcedType(rs):
			errs = append(errs, fmt.Errorf("spec.resources[%d]: %q is always propagated by HNC and must not be listed", i, gr.String()))
			continue
		case seen[gr]:
			errs = append(errs, fmt.Errorf("spec.resources[%d]: %q is configured more than once", i, gr.String()))
			continue
		}
		seen[gr] = true
		modes[gr] = normalizeMode(rs.Mode, opts)
	}
	return modes, errors.Join(errs...)
}

func normalizeMode(m api.SynchronizationMode, opts ModeOptions) api.SynchronizationMode {
	switch m {
	case "":
		if opts.OptInByDefault {
			return api.AllowPropagate
		}
		return api.Propagate
	case api.Propagate, api.AllowPropagate, api.Remove, api.Ignore:
		return m
	default:
		return api.Ignore
	}
}

// Mode returns the mode of a resource type; a type not configured is Ignore.
func (m Modes) Mode(gr schema.GroupResource) api.SynchronizationMode {
	if mode, ok := m[gr]; ok {
		return mode
	}
	return api.Ignore
}

// Resources lists the configured types sorted by group then resource, for
// HNCConfiguration status.
func (m Modes) Resources() []api.ResourceSpec {
	out := make([]api.ResourceSpec, 0, len(m))
	for gr, mode := range m {
		out = append(out, api.ResourceSpec{Group: gr.Group, Resource: gr.Resource, Mode: mode})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

// Propagates reports whether objects of a type in this mode can be copied
// at all (Propagate, or AllowPropagate subject to annotations).
func Propagates(mode api.SynchronizationMode) bool {
	return mode == api.Propagate || mode == api.AllowPropagate
}
