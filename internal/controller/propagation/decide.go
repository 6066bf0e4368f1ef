package propagation

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	policy "github.com/canopyhq/canopy/internal/propagation"
)

// Action is what a work item must do to the API.
type Action int

// The actions Decide can return.
const (
	// None: the destination is already right, or must be left alone.
	None Action = iota
	// Create the copy.
	Create
	// Update the existing copy.
	Update
	// Delete the existing copy: its source is gone, no longer reaches the
	// destination, or its type is in Remove mode.
	Delete
	// Conflict: the destination holds its own object where a source should
	// be copied. Nothing is written; the source gets an event.
	Conflict
)

func (a Action) String() string {
	return [...]string{"None", "Create", "Update", "Delete", "Conflict"}[a]
}

// Input is everything Decide needs about one name in one namespace, read
// from the cache and the locked forest.
type Input struct {
	Namespace string
	// Skip is set for namespaces Canopy must leave alone: excluded, not in
	// the forest, or halted (the reason is for logs).
	Skip string
	// Existing is the object of that name in the namespace, or nil.
	Existing *unstructured.Unstructured
	// Candidates are the ancestors' sources of that name, root first.
	Candidates []*unstructured.Unstructured
	Mode       api.SynchronizationMode
	// DestLabels are the destination's selector labels (tree labels
	// included), as forest.Namespace.SelectorLabels returns them.
	DestLabels map[string]string
	Config     policy.Config
	// DestRoles, for RoleBindings only (nil for every other type), holds
	// the destination's Role of each name the candidates' roleRefs name;
	// a nil value means the destination has none of that name.
	DestRoles map[string]*unstructured.Unstructured
}

// Decision is Decide's answer.
type Decision struct {
	Action Action
	// Object is what to write for Create and Update (for Update it carries
	// the existing resourceVersion), and the copy to remove for Delete.
	Object *unstructured.Unstructured
	// Source is the selected source, for events (Conflict, or any error).
	Source *unstructured.Unstructured
	// ExceptionErr joins the unparsable exception annotations met among the
	// candidates; those candidates were skipped.
	ExceptionErr error
	// RoleConflict is set when the selected RoleBinding is not copied
	// because its copy would resolve to a Role that is not the copy of the
	// source namespace's own (policy.RoleRefConflict): the message for
	// the destination's condition.
	RoleConflict string
}

// Decide computes what one work item must do. It is pure.
func Decide(in Input) Decision {
	if in.Skip != "" {
		return Decision{Action: None}
	}
	src, exErr := policy.SelectSource(in.Candidates, in.Mode, in.Namespace, in.DestLabels, in.Config)
	d := Decision{Source: src, ExceptionErr: exErr}
	if src != nil && in.DestRoles != nil {
		d.RoleConflict = policy.RoleRefConflict(src, in.DestRoles[policy.BindingRoleRef(src)])
	}
	switch {
	case in.Existing != nil && !policy.IsCopy(in.Existing):
		if src != nil {
			d.Action = Conflict
		}
	case src == nil || d.RoleConflict != "":
		if in.Existing != nil {
			d.Action, d.Object = Delete, in.Existing
		}
	default:
		want := policy.MakeCopy(src, in.Namespace, in.Config)
		switch {
		case in.Existing == nil:
			d.Action, d.Object = Create, want
		case !policy.Equivalent(want, in.Existing):
			want.SetResourceVersion(in.Existing.GetResourceVersion())
			d.Action, d.Object = Update, want
		}
	}
	return d
}
