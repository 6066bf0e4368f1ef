// Package cost is the cost controller: it reads OpenCost for the
// month-to-date and last-month windows, rolls the allocations up through
// the tree with internal/cost, and reports the result in each Tenant's
// status, as Kubernetes events when a budget threshold is crossed, and as
// metrics.
//
// # One report for all tenants
//
// OpenCost answers per namespace for the whole cluster, and idle and shared
// cost are spread over all tenants, so the controller computes one report
// for every tenant at once. It runs as a leader-only controller with a
// single work item: every interval, and a short debounce after a Tenant is
// created, deleted or has its spec changed. Each run follows the usual
// three steps: read (Tenants from the cache, then the forest under its lock
// to build the cost.Directory), decide (roll up both windows, then compute
// each Tenant's status with pure functions), write (one server-side apply
// of the status per Tenant that changed).
//
// # Ownership of the status
//
// Several controllers write a Tenant's status. This one applies, as field
// manager canopy-cost, only status.cost and the conditions CostAvailable and
// BudgetExceeded (see TenantStatus). Because server-side apply removes
// fields a manager stops sending, every apply carries all three: after a
// failure the last good status.cost and BudgetExceeded are sent again
// unchanged, so a failed read never erases or half-updates the figures.
//
// # Failures
//
// Both windows must be read and rolled up successfully before anything is
// written; there is never a partial result. Otherwise every Tenant gets
// CostAvailable=False with the reason from opencost.Reason, and OpenCost is
// not asked again until an exponential backoff has passed.
//
// # Budgets
//
// BudgetExceeded records, in its message, the month and the alert
// thresholds already crossed, so the BudgetThresholdCrossed event for each
// threshold is emitted once per month even across leader changes; an
// in-memory record covers the cache lag right after a write.
//
// # Metrics
//
// canopy_tenant_cost and canopy_tenant_budget_ratio are computed at scrape
// time by a Collector from the last successful report, for the Tenants still
// in the cache, so a deleted Tenant leaves no series behind.
package cost
