package kubectl

import (
	"context"
	"errors"
	"io"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TreeOptions selects the trees to draw.
type TreeOptions struct {
	// Namespaces are the roots to draw from; each is drawn even if it has a
	// parent.
	Namespaces []string
	// AllNamespaces draws every tree in the cluster from its root.
	AllNamespaces bool
}

// Tree renders hierarchy trees as `kubectl hns tree` does. With
// AllNamespaces it makes exactly two List calls, whatever the cluster size.
func Tree(ctx context.Context, c client.Client, w io.Writer, o TreeOptions) error {
	var (
		f     forest
		roots []string
		err   error
	)
	switch {
	case o.AllNamespaces && len(o.Namespaces) > 0:
		return errors.New("--all-namespaces (-A) cannot be combined with namespace arguments")
	case o.AllNamespaces:
		if f, err = loadForestAll(ctx, c); err != nil {
			return err
		}
		roots = f.roots()
	case len(o.Namespaces) == 0:
		return errors.New("must specify the root of the tree(s) to display or else specify --all-namespaces (-A)")
	default:
		roots = o.Namespaces
		if f, err = loadForestFrom(ctx, c, roots); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, renderTrees(f, roots))
	return err
}
