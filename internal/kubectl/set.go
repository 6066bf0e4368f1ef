package kubectl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// SetOptions are the hierarchical properties `set` changes.
type SetOptions struct {
	Namespace               string
	Parent                  string
	Root                    bool
	AllowCascadingDeletion  bool
	ForbidCascadingDeletion bool
}

// validate rejects contradictory or empty requests, naming the flags.
func (o SetOptions) validate() error {
	switch {
	case o.Namespace == "":
		return errors.New("the namespace to set (NAMESPACE) must not be empty")
	case o.Root && o.Parent != "":
		return errors.New("cannot give the namespace a parent and make it a root at the same time: --parent and --root are mutually exclusive")
	case o.AllowCascadingDeletion && o.ForbidCascadingDeletion:
		return errors.New("cannot set both --allow-cascading-deletion and --forbid-cascading-deletion")
	case o.Parent == o.Namespace:
		return fmt.Errorf("--parent %q: a namespace cannot be its own parent", o.Parent)
	case !o.Root && o.Parent == "" && !o.AllowCascadingDeletion && !o.ForbidCascadingDeletion:
		return errors.New("nothing to set: specify --parent, --root, --allow-cascading-deletion or --forbid-cascading-deletion")
	}
	return nil
}

// applySet is the pure decision: it changes hc as asked and returns one
// message per property considered and the number actually changed.
func applySet(hc *hncv1.HierarchyConfigurationSpec, o SetOptions) ([]string, int) {
	var msgs []string
	changes := 0
	nnm, old := o.Namespace, hc.Parent
	switch {
	case o.Root && old == "":
		msgs = append(msgs, fmt.Sprintf("%s is already a root namespace; unchanged", nnm))
	case o.Root:
		hc.Parent = ""
		msgs = append(msgs, fmt.Sprintf("Unsetting the parent of %s (was previously %s)", nnm, old))
		changes++
	case o.Parent != "" && old == o.Parent:
		msgs = append(msgs, fmt.Sprintf("Parent of %s is already %s; unchanged", nnm, o.Parent))
	case o.Parent != "" && old == "":
		hc.Parent = o.Parent
		msgs = append(msgs, fmt.Sprintf("Setting the parent of %s to %s", nnm, o.Parent))
		changes++
	case o.Parent != "":
		hc.Parent = o.Parent
		msgs = append(msgs, fmt.Sprintf("Changing the parent of %s from %s to %s", nnm, old, o.Parent))
		changes++
	}
	if o.AllowCascadingDeletion || o.ForbidCascadingDeletion {
		allow := o.AllowCascadingDeletion
		switch {
		case hc.AllowCascadingDeletion == allow:
			msgs = append(msgs, fmt.Sprintf("Cascading deletion for '%s' is already set to %t; unchanged", nnm, allow))
		case allow:
			hc.AllowCascadingDeletion = true
			msgs = append(msgs, fmt.Sprintf("Allowing cascading deletion on '%s'", nnm))
			changes++
		default:
			hc.AllowCascadingDeletion = false
			msgs = append(msgs, fmt.Sprintf("Forbidding cascading deletion on '%s'", nnm))
			changes++
		}
	}
	return msgs, changes
}

// SetHierarchy edits a namespace's HierarchyConfiguration, creating it if
// it does not exist yet.
func SetHierarchy(ctx context.Context, c client.Client, w io.Writer, o SetOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	if err := c.Get(ctx, types.NamespacedName{Name: o.Namespace}, &corev1.Namespace{}); err != nil {
		return fmt.Errorf("reading namespace %s: %w", o.Namespace, err)
	}
	hc, err := getHierarchy(ctx, c, o.Namespace)
	if err != nil {
		return err
	}
	msgs, changes := applySet(&hc.Spec, o)
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m + "\n")
	}
	if changes == 0 {
		b.WriteString("No changes made\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	if err := writeHierarchy(ctx, c, hc); err != nil {
		return fmt.Errorf("could not update the hierarchical configuration of %s: %w", o.Namespace, err)
	}
	word := "property"
	if changes > 1 {
		word = "properties"
	}
	fmt.Fprintf(&b, "Successfully updated %d %s of the hierarchical configuration of %s\n", changes, word, o.Namespace)
	_, err = io.WriteString(w, b.String())
	return err
}
