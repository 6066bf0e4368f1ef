package kubectl

import (
	"errors"

	"github.com/spf13/cobra"
)

func (r *root) treeCmd() *cobra.Command {
	var all, allClusters bool
	cmd := &cobra.Command{
		Use:   "tree [NAMESPACE...] | -A | --all-clusters",
		Short: "Display one or more hierarchy trees",
		Example: `  # Display the tree rooted at acme
  kubectl hns tree acme

  # Display every tree in the cluster (two API calls)
  kubectl hns tree -A

  # On a fleet hub: each member cluster's fleet Tenants and their namespaces
  kubectl canopy tree --all-clusters`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if allClusters && (all || len(args) > 0) {
				return errors.New("--all-clusters shows every fleet Tenant on every member; it cannot be combined with -A or namespace arguments")
			}
			c, err := r.getClient()
			if err != nil {
				return err
			}
			if allClusters {
				return FleetTree(cmd.Context(), c, cmd.OutOrStdout())
			}
			return Tree(cmd.Context(), c, cmd.OutOrStdout(), TreeOptions{Namespaces: args, AllNamespaces: all})
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "Display all trees on the cluster")
	cmd.Flags().BoolVar(&allClusters, "all-clusters", false, "On a fleet hub: display, per member cluster, the fleet Tenants placed there and their namespaces, as the hub reports them")
	return cmd
}

func (r *root) createCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "create CHILD -n PARENT",
		Short:   "Creates a subnamespace under the given parent",
		Example: `  kubectl hns create team-a-dev -n team-a`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireParentAndChild(r.explicitNamespace(), args[0]); err != nil {
				return err
			}
			c, err := r.getClient()
			if err != nil {
				return err
			}
			return CreateSubnamespace(cmd.Context(), c, cmd.OutOrStdout(), r.explicitNamespace(), args[0])
		},
	}
}

func (r *root) deleteCmd() *cobra.Command {
	var o DeleteOptions
	cmd := &cobra.Command{
		Use:   "delete CHILD -n PARENT [--allow-cascading-deletion]",
		Short: "Deletes a subnamespace by deleting its anchor",
		Example: `  kubectl hns delete team-a-dev -n team-a

  # Also delete team-a-dev's own subnamespaces
  kubectl hns delete team-a-dev -n team-a --allow-cascading-deletion`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Parent, o.Child = r.explicitNamespace(), args[0]
			if err := requireParentAndChild(o.Parent, o.Child); err != nil {
				return err
			}
			c, err := r.getClient()
			if err != nil {
				return err
			}
			return DeleteSubnamespace(cmd.Context(), c, cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().SetNormalizeFunc(hncFlagNames)
	cmd.Flags().BoolVarP(&o.AllowCascadingDeletion, "allow-cascading-deletion", "a", false,
		"Allow the subnamespace's own subnamespaces to be deleted with it")
	return cmd
}

func (r *root) setCmd() *cobra.Command {
	var o SetOptions
	cmd := &cobra.Command{
		Use:   "set NAMESPACE --parent PARENT | --root | --allow-cascading-deletion | --forbid-cascading-deletion",
		Short: "Sets hierarchical properties of the given namespace",
		Example: `  # Make 'foo' the parent of 'bar'
  kubectl hns set bar --parent foo

  # Make 'bar' a root
  kubectl hns set bar --root

  # Allow 'foo', or any of its descendants, to be cascading deleted
  kubectl hns set foo --allow-cascading-deletion`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Namespace = args[0]
			if err := o.validate(); err != nil {
				return err
			}
			c, err := r.getClient()
			if err != nil {
				return err
			}
			return SetHierarchy(cmd.Context(), c, cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.SetNormalizeFunc(hncFlagNames)
	f.StringVarP(&o.Parent, "parent", "p", "", "Sets the parent namespace")
	f.BoolVarP(&o.Root, "root", "r", false, "Removes the current parent namespace, making this namespace a root")
	f.BoolVarP(&o.AllowCascadingDeletion, "allow-cascading-deletion", "a", false, "Allows cascading deletion of its subnamespaces")
	f.BoolVarP(&o.ForbidCascadingDeletion, "forbid-cascading-deletion", "f", false, "Protects its subnamespaces from cascading deletion")
	return cmd
}

func (r *root) describeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAMESPACE",
		Short: "Displays information about the hierarchy configuration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.getClient()
			if err != nil {
				return err
			}
			return Describe(cmd.Context(), c, cmd.OutOrStdout(), DescribeOptions{Namespace: args[0], Now: r.opts.Now})
		},
	}
}
