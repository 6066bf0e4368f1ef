package kubectl

import (
	"github.com/spf13/cobra"
)

func (r *root) hrqCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "hrq [NAME...] [-n NAMESPACE | -A]",
		Short: "Display HierarchicalResourceQuotas and Canopy HierarchicalQuotas",
	}
	output := addOutputFlag(cmd)
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "Display the quotas in all namespaces")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		out, err := output()
		if err != nil {
			return err
		}
		o := QuotaOptions{Names: args, AllNamespaces: all, Output: out, Now: r.opts.Now}
		if !all {
			if o.Namespace, err = r.namespace(); err != nil {
				return err
			}
		}
		c, err := r.getClient()
		if err != nil {
			return err
		}
		return Quotas(cmd.Context(), c, cmd.OutOrStdout(), o)
	}
	return cmd
}

func (r *root) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Displays Canopy tenants",
	}
	cmd.AddCommand(r.tenantListCmd(), r.tenantDescribeCmd())
	return cmd
}

func (r *root) tenantListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Lists tenants with their size, readiness and quota",
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
		return TenantList(cmd.Context(), c, cmd.OutOrStdout(), TenantOptions{Output: out, Now: r.opts.Now})
	}
	return cmd
}

func (r *root) tenantDescribeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe NAME",
		Short: "Displays a tenant's tree, owners, quota use and conditions",
		Args:  cobra.ExactArgs(1),
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		out, err := output()
		if err != nil {
			return err
		}
		c, err := r.getClient()
		if err != nil {
			return err
		}
		return TenantDescribe(cmd.Context(), c, cmd.OutOrStdout(), args[0], TenantOptions{Output: out, Now: r.opts.Now})
	}
	return cmd
}
