package anchor

import (
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// Facts are what Decide needs, read from the API and the forest.
type Facts struct {
	// Parent is the anchor's namespace and Name the subnamespace's name.
	Parent, Name string
	// Deleting is true once the anchor has a deletion timestamp.
	Deleting bool
	// CRDDeleting is true when the SubnamespaceAnchor CRD itself is being
	// (or has been) deleted: the API server is deleting every anchor,
	// which means Canopy or HNC is being uninstalled, not that anyone
	// asked for a subnamespace to go.
	CRDDeleting bool
	// HasFinalizer is true if the anchor carries hnc.x-k8s.io.
	HasFinalizer bool
	// ParentExcluded and ChildExcluded say why the parent or the child is
	// excluded from Canopy's management ("" if it is not).
	ParentExcluded, ChildExcluded string

	// ChildExists is true if the Namespace named by the anchor exists;
	// ChildSubnamespaceOf is its subnamespace-of annotation and
	// ChildTerminating whether it is being deleted.
	ChildExists         bool
	ChildSubnamespaceOf string
	ChildTerminating    bool
	// ChildHasChildren is true if the subnamespace has children of its own,
	// and ChildAllowsCascading if it or an ancestor allows cascading
	// deletion.
	ChildHasChildren     bool
	ChildAllowsCascading bool
}

// Action is the one write a reconcile performs after updating the anchor.
type Action int

// The actions Decide returns.
const (
	// None: only the anchor itself (status, finalizer) may need writing.
	None Action = iota
	// CreateNamespace creates the subnamespace with its annotation.
	CreateNamespace
	// DeleteNamespace deletes the subnamespace; the finalizer stays until
	// the namespace is gone.
	DeleteNamespace
	// WaitForDeletion keeps the finalizer while the subnamespace
	// terminates.
	WaitForDeletion
)

// Decision is what Decide returns: the anchor's state, whether it should
// carry the finalizer, and the action.
type Decision struct {
	State     api.SubnamespaceAnchorState
	Finalizer bool
	Action    Action
}

// Decide is the anchor's policy.
//
// A live anchor carries the finalizer. It is Forbidden if its namespace or
// the subnamespace is excluded; otherwise Missing (and the subnamespace is
// created) while the namespace does not exist, Ok if the namespace is a
// subnamespace of the anchor's namespace, and Conflict if it is anything
// else.
//
// A deleted anchor deletes its subnamespace only if the anchor CRD is not
// being deleted (an uninstall), it really is its
// subnamespace and either the subnamespace has no children or cascading
// deletion is allowed; the finalizer is removed once there is nothing (left)
// to delete. A subnamespace whose deletion is not allowed is left in place
// and will report SubnamespaceAnchorMissing.
func Decide(f Facts) Decision {
	ours := f.ChildExists && f.ChildSubnamespaceOf == f.Parent
	state := api.Missing
	switch {
	case f.ParentExcluded != "" || f.ChildExcluded != "":
		state = api.Forbidden
	case ours:
		state = api.Ok
	case f.ChildExists:
		state = api.Conflict
	}

	if !f.Deleting {
		d := Decision{State: state, Finalizer: true}
		if state == api.Missing {
			d.Action = CreateNamespace
		}
		return d
	}
	switch {
	case !ours || state == api.Forbidden:
		return Decision{State: state}
	case f.CRDDeleting:
		// Uninstalling never deletes namespaces (HNC's rule): release
		// the anchor and leave the subnamespace and its workloads alone.
		return Decision{State: state}
	case f.ChildTerminating:
		return Decision{State: state, Finalizer: f.HasFinalizer, Action: WaitForDeletion}
	case f.ChildHasChildren && !f.ChildAllowsCascading:
		return Decision{State: state}
	default:
		return Decision{State: state, Finalizer: f.HasFinalizer, Action: DeleteNamespace}
	}
}
