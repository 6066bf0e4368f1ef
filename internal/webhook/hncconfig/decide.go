package hncconfig

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	policy "github.com/canopyhq/canopy/internal/propagation"
)

// Current is the propagation state the decision compares against.
type Current interface {
	// KindFor returns the kind watched for a type, if it is watched.
	KindFor(gr schema.GroupResource) (schema.GroupVersionKind, bool)
	// ModeForKind returns the current mode of a watched kind.
	ModeForKind(gk schema.GroupKind) (api.SynchronizationMode, bool)
}

// ConflictFinder lists the conflicts a kind would have in a mode
// (propagation.FindConflicts over the locked forest).
type ConflictFinder func(gvk schema.GroupVersionKind, mode api.SynchronizationMode) []*policy.ConflictError

// Decide validates an HNCConfiguration create or update; it returns "" to
// allow, or the reason to deny.
func Decide(cfg *api.HNCConfiguration, opts policy.ModeOptions, cur Current, conflicts ConflictFinder) string {
	if cfg.Name != api.HNCConfigSingleton {
		return fmt.Sprintf("HNCConfiguration must be named %q, not %q", api.HNCConfigSingleton, cfg.Name)
	}
	modes, err := policy.ParseModes(cfg.Spec, opts)
	if err != nil {
		return "Invalid HNCConfiguration: " + err.Error()
	}
	var problems []string
	for _, rs := range modes.Resources() {
		if !policy.Propagates(rs.Mode) {
			continue
		}
		gr := schema.GroupResource{Group: rs.Group, Resource: rs.Resource}
		gvk, watched := cur.KindFor(gr)
		if !watched {
			continue
		}
		if old, _ := cur.ModeForKind(gvk.GroupKind()); old == rs.Mode {
			continue
		}
		for _, c := range conflicts(gvk, rs.Mode) {
			problems = append(problems, fmt.Sprintf("%s %q in %q would be overwritten by the source in %q", gr.String(), c.Name, c.Namespace, c.SourceNamespace))
		}
	}
	if len(problems) > 0 {
		return "Cannot change the propagation mode, because objects would be overwritten: " + strings.Join(problems, "; ") +
			". Rename or delete them first."
	}
	return ""
}
