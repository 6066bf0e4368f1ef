package setup

import "flag"

// CostExportOptions configure the scheduled chargeback export.
type CostExportOptions struct{}

func (o *CostExportOptions) bindFlags(*flag.FlagSet) {}
