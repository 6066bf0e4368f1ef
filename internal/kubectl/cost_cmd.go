package kubectl

import (
	"github.com/spf13/cobra"
)

func (r *root) costCmd() *cobra.Command {
	var o CostOptions
	cmd := &cobra.Command{
		Use:   "cost [TENANT...] [--window START,END|lastmonth|mtd] [-o table|csv|json] [--summary]",
		Short: "Displays tenants' chargeback, read through the cost.canopy.dev API",
		Long: "Displays the cost of tenants over a window, per namespace or per team (--summary), read through the\n" +
			"Kubernetes API (the aggregated API cost.canopy.dev) with your own credentials. Without TENANT it shows\n" +
			"every tenant you may get. Windows are UTC: START,END dates (END exclusive) or RFC 3339 times,\n" +
			"lastmonth, mtd, yesterday or today.",
		Example: "  kubectl canopy cost payments --window 2026-10-01,2026-11-01\n" +
			"  kubectl canopy cost --window lastmonth -o csv > chargeback.csv\n" +
			"  kubectl canopy cost payments --summary -o json",
	}
	cmd.Flags().StringVar(&o.Window, "window", "mtd", "Window: START,END (dates or RFC 3339, END exclusive), lastmonth, mtd, yesterday or today (UTC)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", CostTable, "Output format: table, csv or json")
	cmd.Flags().BoolVar(&o.Summary, "summary", false, "One row per team (its descendants included) instead of one per namespace")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		o.Tenants, o.Now = args, r.opts.Now
		cfg, err := r.flags.ToRESTConfig()
		if err != nil {
			return err
		}
		api, err := NewRESTCostAPI(cfg)
		if err != nil {
			return err
		}
		return Cost(cmd.Context(), api, cmd.OutOrStdout(), o)
	}
	return cmd
}
