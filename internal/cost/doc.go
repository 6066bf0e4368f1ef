// Package cost turns OpenCost's per-namespace allocations into what finance
// and team leads ask for: cost per tenant and per team, with idle and shared
// cost handled by policy, budgets, and a chargeback CSV.
//
// The package is pure: it imports no Kubernetes client. The cost controller
// reads Tenants and namespaces from its caches, builds a Directory (the live
// attribution view), and hands it with OpenCost's response to a Roller; the
// same code serves the aggregated API, the kubectl plugin and the scheduled
// export. Namespaces deleted during the window are attributed from the
// namespaceLabels OpenCost returns: Canopy's tenant label and HNC's tree
// labels, raw or in OpenCost's sanitized form.
//
// Conservation is the design constraint. All arithmetic is in int64
// micro-units of currency (Micro). For every step, the namespace-level rows
// of a report (tenant namespaces, shared namespaces kept as their own line,
// the idle line and the unallocated line) sum exactly to OpenCost's total,
// the sum of totalCost over every key including __idle__ and
// __unallocated__. Spreading idle or shared cost uses largest-remainder
// apportionment so the shares add up exactly, and rounding to cents for
// display does the same per column. The unallocated line is accumulated
// from the allocations that contribute to it, never derived as total minus
// the rest, and every report is checked against OpenCost's total before it
// is returned, so a bug surfaces as an error instead of a wrong CSV.
//
// Memory grows with namespaces and teams, not with days: a Roller reuses
// one step's state, and TeamSummary and NamespaceTotals accumulate one entry
// per team or namespace over the window.
package cost
