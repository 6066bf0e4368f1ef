package objects

import (
	"fmt"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

// Request is what Decide needs from an admission request.
type Request struct {
	Operation admissionv1.Operation
	Namespace string
	// Old and New are the objects (Old nil on create, New nil on delete).
	Old, New *unstructured.Unstructured
	// ByManager is true when Canopy's manager itself made the request.
	ByManager bool
	// NamespaceTerminating is true while the object's namespace is being
	// deleted, when the namespace controller deletes copies too.
	NamespaceTerminating bool
	// Mode is the type's propagation mode; Propagated is false for types
	// Canopy does not watch.
	Mode       api.SynchronizationMode
	Propagated bool
}

// Verdict is Decide's answer.
type Verdict struct {
	Allowed bool
	Message string
	// Conflicts lists the descendants' own objects a new source would
	// overwrite (set when denied for that reason).
	Conflicts []*policy.ConflictError
}

func allow() Verdict { return Verdict{Allowed: true} }

func deny(format string, args ...any) Verdict {
	return Verdict{Message: fmt.Sprintf(format, args...)}
}

// Decide validates one request. f must be locked by the caller; it is only
// read.
func Decide(req Request, f *forest.Forest, cfg policy.Config) Verdict {
	if req.ByManager {
		return allow()
	}
	oldCopy := req.Old != nil && policy.IsCopy(req.Old)
	switch req.Operation {
	case admissionv1.Delete:
		if oldCopy && !req.NamespaceTerminating {
			src := req.Old.GetLabels()[api.LabelInheritedFrom]
			return deny("Cannot delete %q: it was propagated from namespace %q. Delete or change the source in %q instead.", req.Old.GetName(), src, src)
		}
		return allow()
	case admissionv1.Create, admissionv1.Update:
	default:
		return allow()
	}

	if oldCopy {
		src := req.Old.GetLabels()[api.LabelInheritedFrom]
		if !policy.Equivalent(req.New, req.Old) {
			return deny("Cannot modify %q: it was propagated from namespace %q. Edit the source in %q instead.", req.Old.GetName(), src, src)
		}
		return allow()
	}
	if policy.IsCopy(req.New) {
		return deny("Cannot set label %s on %q: only Canopy marks objects as propagated copies.", api.LabelInheritedFrom, req.New.GetName())
	}
	if _, err := policy.ParseException(req.New.GetAnnotations()); err != nil {
		return deny("Invalid propagation exception on %q: %v", req.New.GetName(), err)
	}
	if req.Propagated && policy.Propagates(req.Mode) {
		if conflicts := findConflicts(f, req.New, req.Mode, cfg); len(conflicts) > 0 {
			var names []string
			for _, c := range conflicts {
				names = append(names, c.Namespace)
			}
			v := deny("Cannot propagate %q from namespace %q: it would overwrite objects of the same name in descendant namespaces %s. Rename or delete them first.",
				req.New.GetName(), req.Namespace, strings.Join(names, ", "))
			v.Conflicts = conflicts
			return v
		}
	}
	return allow()
}

// findConflicts lists the descendants' own objects that src, a new or
// changed source, would overwrite: those where src would become the
// selected source. O(subtree × depth).
func findConflicts(f *forest.Forest, src *unstructured.Unstructured, mode api.SynchronizationMode, cfg policy.Config) []*policy.ConflictError {
	if ok, _ := cfg.Propagatable(src); !ok {
		return nil
	}
	n := f.Lookup(src.GetNamespace())
	if n == nil {
		return nil
	}
	gvk, name := src.GroupVersionKind(), src.GetName()
	above := map[string]bool{}
	for _, a := range n.AncestryNames() {
		if a != n.Name() {
			above[a] = true
		}
	}
	var out []*policy.ConflictError
	for _, dn := range n.DescendantNames() {
		d := f.Lookup(dn)
		own := d.GetSourceObject(gvk, name)
		if own == nil || d.HaltedRoot() != "" {
			continue
		}
		cands := withCandidate(d.GetAncestorSources(gvk, name), src, above)
		sel, _ := policy.SelectSource(cands, mode, dn, d.SelectorLabels(), cfg)
		if sel == nil || sel.GetNamespace() != src.GetNamespace() {
			continue
		}
		if err := policy.CheckConflict(sel, own); err != nil {
			if ce, ok := err.(*policy.ConflictError); ok {
				out = append(out, ce)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// withCandidate puts src into cands (root first) in place of the stored
// source of its namespace: after the sources of its ancestors (above).
func withCandidate(cands []*unstructured.Unstructured, src *unstructured.Unstructured, above map[string]bool) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(cands)+1)
	inserted := false
	for _, c := range cands {
		if c.GetNamespace() == src.GetNamespace() {
			continue
		}
		if !inserted && !above[c.GetNamespace()] {
			out = append(out, src)
			inserted = true
		}
		out = append(out, c)
	}
	if !inserted {
		out = append(out, src)
	}
	return out
}
