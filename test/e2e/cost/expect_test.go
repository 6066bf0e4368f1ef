package cost

import (
	"github.com/canopyhq/canopy/internal/cost"
)

// The exact costs of one 24-hour day of history, worked out by hand from
// the prices (0.25 per core-hour, 0.125 per GiB-hour) and the requests:
//
//	payments-api            1 core, 2 GiB   6 + 6  = 12
//	payments-api-staging    0.5,    1       3 + 3  =  6
//	payments-batch          1,      4       6 + 12 = 18
//	search-index            1,      1       6 + 3  =  9
//	search-query            0.5,    2       3 + 6  =  9
//	monitoring (shared)     0.5,    1       3 + 3  =  6
//	legacy (no tenant)      0.5,    1       3 + 3  =  6
//	node-a                  8,      32     48 + 96 = 144
//	idle                    144 - 66               = 78
//
// So payments costs 36 (team api 18), search 18 (team index 9). Spreading
// weighs tenants 36:18 = 2:1 (weighted) or 1:1 (even), and within a tenant
// namespaces by their own cost.
type policyCase struct {
	name string
	opts cost.Options
	// want is the day's per-team summary, by summaryKey.
	want map[string]float64
}

func policyCases() []policyCase {
	shared := []string{sharedNamespace}
	opts := func(idle, sh cost.Policy) cost.Options {
		return cost.Options{Idle: idle, Shared: sh, SharedNamespaces: shared}
	}
	const (
		payments = "tenant:payments"
		api      = "tenant:payments/payments-api"
		search   = "tenant:search"
		index    = "tenant:search/search-index"
		mon      = "shared:" + sharedNamespace
		idle     = "idle:__idle__"
		unalloc  = "unallocated:__unallocated__"
	)
	return []policyCase{
		{"idle separate, shared separate", opts(cost.Separate, cost.Separate),
			map[string]float64{payments: 36, api: 18, search: 18, index: 9, mon: 6, idle: 78, unalloc: 6}},
		// Idle 78 as 52:26; in payments 52 as 12:6:18 over its namespaces,
		// so team api (12 + 6) gets 26.
		{"idle weighted", opts(cost.Weighted, cost.Separate),
			map[string]float64{payments: 88, api: 44, search: 44, index: 22, mon: 6, unalloc: 6}},
		// Idle 78 as 39:39; team api gets 39 * 18/36 = 19.5.
		{"idle even", opts(cost.Even, cost.Separate),
			map[string]float64{payments: 75, api: 37.5, search: 57, index: 28.5, mon: 6, unalloc: 6}},
		// Shared 6 as 4:2.
		{"shared weighted", opts(cost.Separate, cost.Weighted),
			map[string]float64{payments: 40, api: 20, search: 20, index: 10, idle: 78, unalloc: 6}},
		// Shared 6 as 3:3.
		{"shared even", opts(cost.Separate, cost.Even),
			map[string]float64{payments: 39, api: 19.5, search: 21, index: 10.5, idle: 78, unalloc: 6}},
		// Both weighted by the tenants' own cost: 36 + 4 + 52, 18 + 2 + 26.
		{"both weighted", opts(cost.Weighted, cost.Weighted),
			map[string]float64{payments: 92, api: 46, search: 46, index: 23, unalloc: 6}},
	}
}

// dayTotal is OpenCost's total for one day: the node's cost.
const dayTotal = 144
