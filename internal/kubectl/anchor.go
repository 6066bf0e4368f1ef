package kubectl

import (
	"context"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// CreateSubnamespace creates the SubnamespaceAnchor that asks Canopy for
// the subnamespace child under parent.
func CreateSubnamespace(ctx context.Context, c client.Client, w io.Writer, parent, child string) error {
	if err := requireParentAndChild(parent, child); err != nil {
		return err
	}
	anchor := &hncv1.SubnamespaceAnchor{}
	anchor.Namespace, anchor.Name = parent, child
	if err := c.Create(ctx, anchor); err != nil {
		return fmt.Errorf("could not create subnamespace anchor %q in namespace %q: %w", child, parent, err)
	}
	_, err := fmt.Fprintf(w, "Successfully created %q subnamespace anchor in %q namespace\n", child, parent)
	return err
}

// DeleteOptions names the subnamespace to delete.
type DeleteOptions struct {
	Parent string
	Child  string
	// AllowCascadingDeletion first sets allowCascadingDeletion on the
	// child, so a subnamespace that has subnamespaces of its own can go.
	AllowCascadingDeletion bool
}

// DeleteSubnamespace deletes the anchor of a subnamespace, which makes
// Canopy delete the subnamespace itself.
func DeleteSubnamespace(ctx context.Context, c client.Client, w io.Writer, o DeleteOptions) error {
	if err := requireParentAndChild(o.Parent, o.Child); err != nil {
		return err
	}
	anchor := &hncv1.SubnamespaceAnchor{}
	err := c.Get(ctx, types.NamespacedName{Namespace: o.Parent, Name: o.Child}, anchor)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%q is not a subnamespace of %q: there is no subnamespace anchor %q in namespace %q "+
			"(to detach a full namespace, use `set %s --root`)", o.Child, o.Parent, o.Child, o.Parent, o.Child)
	}
	if err != nil {
		return fmt.Errorf("reading subnamespace anchor %q in namespace %q: %w", o.Child, o.Parent, err)
	}

	if o.AllowCascadingDeletion {
		hc, err := getHierarchy(ctx, c, o.Child)
		if err != nil {
			return err
		}
		if !hc.Spec.AllowCascadingDeletion {
			hc.Spec.AllowCascadingDeletion = true
			if err := writeHierarchy(ctx, c, hc); err != nil {
				return fmt.Errorf("could not allow cascading deletion on %q: %w", o.Child, err)
			}
			if _, err := fmt.Fprintf(w, "Allowing cascading deletion on '%s'\n", o.Child); err != nil {
				return err
			}
		}
	}

	if err := c.Delete(ctx, anchor); err != nil {
		if apierrors.IsForbidden(err) && !o.AllowCascadingDeletion {
			return fmt.Errorf("could not delete subnamespace anchor %q in namespace %q "+
				"(if it has subnamespaces of its own, retry with --allow-cascading-deletion): %w", o.Child, o.Parent, err)
		}
		return fmt.Errorf("could not delete subnamespace anchor %q in namespace %q: %w", o.Child, o.Parent, err)
	}
	_, err = fmt.Fprintf(w, "Successfully deleted %q subnamespace anchor in %q namespace\n", o.Child, o.Parent)
	return err
}

func requireParentAndChild(parent, child string) error {
	if parent == "" {
		return errors.New("parent must be set via --namespace or -n")
	}
	if child == "" {
		return errors.New("the subnamespace name (CHILD) must not be empty")
	}
	return nil
}

// writeHierarchy creates the HierarchyConfiguration if it was never saved
// and updates it otherwise, so a concurrent change fails with a conflict
// instead of being overwritten.
func writeHierarchy(ctx context.Context, c client.Client, hc *hncv1.HierarchyConfiguration) error {
	if hc.CreationTimestamp.IsZero() && hc.ResourceVersion == "" {
		return c.Create(ctx, hc)
	}
	return c.Update(ctx, hc)
}
