// Package grafana gives every Canopy team its own space in Grafana and keeps
// it true.
//
// Each tenant gets a Grafana organization (data isolation: in Grafana OSS
// folder permissions hide dashboards but not data, so the organization
// holds a Prometheus datasource of its own, pointed at a label-enforcing
// proxy that confines queries to the tenant's namespaces). Each team of the
// tenant, the tenant itself included, gets a Grafana team holding its
// members, a folder only that team (and organization Admins, and the
// team's viewers) may open, and the dashboards package dashboards builds
// for the team.
//
// The package has two halves:
//
//   - Client is a thin interface over Grafana's HTTP API, one request per
//     method, implemented by OpenAPIClient over
//     github.com/grafana/grafana-openapi-client-go. It decides nothing.
//   - Provisioner decides. Sync reads what Grafana holds, compares it with a
//     TenantState, and writes only what differs: folder permissions are
//     replaced whole only when the set differs, dashboards are rewritten
//     only when a field Canopy sets (including the canopyHash of the
//     built dashboard) differs, teams gain and lose exactly the members
//     that differ. A steady state therefore makes zero write calls, and
//     Result.Writes says how many a sync needed. Teardown follows the
//     Tenant's deletionPolicy.
//
// Every object has a deterministic name (UID, FolderUID, DashboardUID,
// DatasourceUID, TeamName), so a sync is an idempotent upsert and teardown
// and pruning find exactly what a sync made. The Provisioner keeps no state
// between calls and imports no Kubernetes client: the controller builds a
// TenantState (FromTenant), calls Sync, and turns the Result into the
// Tenant's DashboardsReady condition and dashboardURL.
package grafana
