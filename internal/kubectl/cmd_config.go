package kubectl

import (
	"github.com/spf13/cobra"
)

func (r *root) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manipulates the HNC configuration",
	}
	cmd.AddCommand(r.configDescribeCmd(), r.configSetResourceCmd(), r.configDeleteTypeCmd())
	return cmd
}

func (r *root) configDescribeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "Displays information about the HNC configuration",
		Args:  noArgs,
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		out, err := output()
		if err != nil {
			return err
		}
		c, err := r.getClient()
		if err != nil {
			return err
		}
		return ConfigDescribe(cmd.Context(), c, cmd.OutOrStdout(), out)
	}
	return cmd
}

func (r *root) configSetResourceCmd() *cobra.Command {
	var o SetResourceOptions
	cmd := &cobra.Command{
		Use:   "set-resource RESOURCE [--group GROUP] [--force] --mode <Propagate|Remove|Ignore|AllowPropagate>",
		Short: "Sets the HNC configuration of a specific resource",
		Example: `  # Set configuration of a core type
  kubectl hns config set-resource secrets --mode Ignore

  # Set configuration of a custom type
  kubectl hns config set-resource crontabs --group stable.example.com --mode Propagate`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Resource = args[0]
			if _, err := ParseMode(o.Mode); err != nil {
				return err
			}
			c, err := r.getClient()
			if err != nil {
				return err
			}
			return ConfigSetResource(cmd.Context(), c, cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Group, "group", "", "The group of the resource; may be omitted for core resources")
	f.StringVar(&o.Mode, "mode", "", "The synchronization mode: one of Propagate, Remove, Ignore and AllowPropagate")
	f.BoolVarP(&o.Force, "force", "f", false, "Allow the mode to change directly from Ignore to Propagate or AllowPropagate despite the dangers")
	return cmd
}

func (r *root) configDeleteTypeCmd() *cobra.Command {
	var group, resource string
	cmd := &cobra.Command{
		Use:   "delete-type --resource RESOURCE [--group GROUP]",
		Short: "Delete the HNC configuration of a specific type",
		Example: `  # Delete configuration of a core type
  kubectl hns config delete-type --resource secrets

  # Delete configuration of a custom type
  kubectl hns config delete-type --group stable.example.com --resource crontabs`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.getClient()
			if err != nil {
				return err
			}
			return ConfigDeleteType(cmd.Context(), c, cmd.OutOrStdout(), group, resource)
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "The group of the resource")
	cmd.Flags().StringVar(&resource, "resource", "", "The resource whose configuration is deleted")
	return cmd
}
