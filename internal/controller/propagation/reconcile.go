package propagation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	policy "github.com/canopyhq/canopy/internal/propagation"
)

// EventCannotPropagate is the reason of the Warning event on a source that
// cannot be copied into a descendant.
const EventCannotPropagate = "CannotPropagateObject"

// onUpsert runs on every replica for every add and update of the type: it
// records sources in the forest and enqueues the namespaces affected.
func (s *typeSyncer) onUpsert(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	ns, name := u.GetNamespace(), u.GetName()
	f := s.p.Forest
	if f.Config().IsExcluded(ns) {
		return
	}
	targets := []string{ns}
	f.Lock()
	if policy.IsCopy(u) {
		if n := f.Lookup(ns); n != nil && n.DeleteSourceObject(s.gvk, name) {
			targets = append(targets, n.DescendantNames()...)
		}
	} else if n := f.Get(ns); n.SetSourceObject(trimSource(u)) {
		targets = append(targets, n.DescendantNames()...)
	}
	f.Unlock()
	for _, t := range targets {
		s.queue.Add(types.NamespacedName{Namespace: t, Name: name})
	}
	s.p.roleChanged(s.gvk, ns)
}

// onDelete forgets a deleted source and enqueues its descendants, or
// enqueues the namespace of a deleted copy so it is restored.
func (s *typeSyncer) onDelete(obj any) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	ns, name := u.GetNamespace(), u.GetName()
	f := s.p.Forest
	targets := []string{ns}
	f.Lock()
	if n := f.Lookup(ns); n != nil {
		descendants := n.DescendantNames()
		if n.DeleteSourceObject(s.gvk, name) {
			targets = append(targets, descendants...)
		}
	}
	f.Unlock()
	for _, t := range targets {
		s.queue.Add(types.NamespacedName{Namespace: t, Name: name})
	}
	s.p.roleChanged(s.gvk, ns)
}

// trimSource drops what the forest does not need (and what changes on
// every write), so an unchanged source compares equal.
func trimSource(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	c.SetManagedFields(nil)
	c.SetResourceVersion("")
	return c
}

// sync makes one name in one namespace right: read, lock and decide,
// unlock and write.
func (s *typeSyncer) sync(ctx context.Context, key types.NamespacedName) error {
	existing := s.newObject()
	if err := s.p.Cache.Get(ctx, key, existing); apierrors.IsNotFound(err) {
		existing = nil
	} else if err != nil {
		return fmt.Errorf("reading %s %s: %w", s.gr, key, err)
	}

	in := Input{Namespace: key.Namespace, Existing: existing, Mode: s.mode(), Config: s.p.opts.Config}
	f := s.p.Forest
	f.Lock()
	n := f.Lookup(key.Namespace)
	switch {
	case f.Config().IsExcluded(key.Namespace):
		in.Skip = "excluded"
	case n == nil || !n.Exists():
		in.Skip = "not in the forest"
	case n.HaltedRoot() != "":
		in.Skip = "halted at " + n.HaltedRoot()
	default:
		in.Candidates = n.GetAncestorSources(s.gvk, key.Name)
		in.DestLabels = n.SelectorLabels()
	}
	f.Unlock()
	if s.gvk.GroupKind() == policy.RoleBindingKind && in.Skip == "" {
		roles, err := s.destRoles(ctx, key.Namespace, in.Candidates)
		if err != nil {
			return err
		}
		in.DestRoles = roles
	}

	d := Decide(in)
	if in.DestRoles != nil {
		s.p.setRoleConflict(key.Namespace, key.Name, d.RoleConflict)
	}
	if d.ExceptionErr != nil && d.Source != nil {
		s.event(d.Source, existing, "Invalid propagation exception: %v", d.ExceptionErr)
	}
	log := s.log.WithValues("namespace", key.Namespace, "name", key.Name)
	var err error
	verb := ""
	switch d.Action {
	case None:
		return nil
	case Conflict:
		s.event(d.Source, existing, "Cannot propagate to namespace %q: it holds its own %s %q, which Canopy will not overwrite", key.Namespace, s.gvk.Kind, key.Name)
		return nil
	case Create:
		verb, err = "create", s.p.Client.Create(ctx, d.Object)
		if apierrors.IsAlreadyExists(err) {
			// The cache is behind; the watch event will enqueue us again.
			return nil
		}
	case Update:
		verb, err = "update", s.p.Client.Update(ctx, d.Object)
		if apierrors.IsConflict(err) {
			return nil
		}
		if immutable(err) {
			// The source changed a field its kind keeps immutable (a
			// RoleBinding's roleRef, an immutable Secret's data), as a
			// source replaced while no manager ran does. The copy is
			// Canopy's and derived from the source, so nothing is lost by
			// replacing it: it is deleted here, and the deletion's watch
			// event has it created anew from the source.
			log.V(1).Info("Replacing a copy whose immutable fields differ from its source's")
			uid, rv := existing.GetUID(), existing.GetResourceVersion()
			verb, err = "delete", client.IgnoreNotFound(s.p.Client.Delete(ctx, existing,
				client.Preconditions{UID: &uid, ResourceVersion: &rv}))
			if apierrors.IsConflict(err) {
				return nil
			}
		}
	case Delete:
		uid, rv := d.Object.GetUID(), d.Object.GetResourceVersion()
		verb, err = "delete", client.IgnoreNotFound(s.p.Client.Delete(ctx, d.Object,
			client.Preconditions{UID: &uid, ResourceVersion: &rv}))
		if apierrors.IsConflict(err) {
			return nil
		}
	}
	if apierrors.IsForbidden(err) {
		s.setForbidden(verb)
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	writes.WithLabelValues(s.gr.String(), d.Action.String(), result).Inc()
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", d.Action, s.gr, key, err)
	}
	log.V(1).Info("Propagated", "action", d.Action.String())
	return nil
}

// destRoles reads, from the cache, the destination's Role of each name the
// candidate RoleBindings refer to (nil where it has none).
func (s *typeSyncer) destRoles(ctx context.Context, ns string, candidates []*unstructured.Unstructured) (map[string]*unstructured.Unstructured, error) {
	roles := map[string]*unstructured.Unstructured{}
	for _, c := range candidates {
		name := policy.BindingRoleRef(c)
		if _, seen := roles[name]; name == "" || seen {
			continue
		}
		r := &unstructured.Unstructured{}
		r.SetGroupVersionKind(policy.RoleKind.WithVersion("v1"))
		switch err := s.p.Cache.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, r); {
		case apierrors.IsNotFound(err):
			roles[name] = nil
		case err != nil:
			return nil, fmt.Errorf("reading Role %s/%s a RoleBinding refers to: %w", ns, name, err)
		default:
			roles[name] = r
		}
	}
	return roles, nil
}

func (s *typeSyncer) setForbidden(verb string) {
	s.mu.Lock()
	added := !s.forbidden[verb]
	s.forbidden[verb] = true
	s.mu.Unlock()
	if added {
		s.p.notify()
	}
}

func (s *typeSyncer) clearForbidden(verb string) {
	s.mu.Lock()
	removed := s.forbidden[verb]
	delete(s.forbidden, verb)
	s.mu.Unlock()
	if removed {
		s.p.notify()
	}
}

func (s *typeSyncer) forbiddenVerbs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.forbidden))
	for v := range s.forbidden {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// event records a Warning on the source; related is the destination's
// object, if any.
func (s *typeSyncer) event(src, related *unstructured.Unstructured, format string, args ...any) {
	if s.p.Recorder == nil || src == nil {
		return
	}
	if related == nil {
		// A nil *Unstructured in the interface would not be nil.
		s.p.Recorder.Eventf(src, nil, corev1.EventTypeWarning, EventCannotPropagate, "Propagate", format, args...)
		return
	}
	s.p.Recorder.Eventf(src, related, corev1.EventTypeWarning, EventCannotPropagate, "Propagate", format, args...)
}

// status counts this type's sources (forest) and copies (countCopy).
// ErrNotSynced is returned by TypeStatuses while a type's initial list is
// not yet in the forest: its counts would be partial.
var ErrNotSynced = errors.New("the initial list has not been read yet")

func (s *typeSyncer) status(ctx context.Context) (TypeStatus, error) {
	st := TypeStatus{GroupResource: s.gr, Version: s.gvk.Version, Mode: s.mode(), Forbidden: s.forbiddenVerbs()}
	// A type the manager may not list never syncs; its forbidden verbs
	// are reported at once.
	if !s.synced.Load() && len(st.Forbidden) == 0 {
		return st, fmt.Errorf("%s: %w", s.gr, ErrNotSynced)
	}
	s.p.Forest.Lock()
	st.Sources = s.p.Forest.CountSources(s.gvk)
	s.p.Forest.Unlock()
	st.Propagated = int(s.copies.Load())
	return st, nil
}

// countCopy keeps s.copies as the informer's objects change from old to
// obj (nil for none): one more for a labelled object that appears, one less
// for one that goes. The informer delivers every object's changes in order,
// and tombstones for deletions it missed, so the count is exact once the
// initial list is in (s.synced).
func (s *typeSyncer) countCopy(old, obj any) {
	s.copies.Add(int64(isCopyObject(obj) - isCopyObject(old)))
}

// isCopyObject is 1 for an object carrying the inherited-from label, else 0.
func isCopyObject(obj any) int {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u == nil {
		return 0
	}
	if _, ok := u.GetLabels()[api.LabelInheritedFrom]; ok {
		return 1
	}
	return 0
}

// immutable says whether err is the API server refusing an update because
// it changes a field that cannot change after creation.
func immutable(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &status) || status.Status().Details == nil {
		return false
	}
	for _, c := range status.Status().Details.Causes {
		if strings.Contains(c.Message, apimachineryvalidation.FieldImmutableErrorMsg) {
			return true
		}
	}
	return false
}
