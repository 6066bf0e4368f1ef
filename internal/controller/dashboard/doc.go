// Package dashboard keeps every Tenant's Grafana space (organization, teams,
// folders, permissions, datasource and dashboards) true, through the
// Provisioner of package grafana, and reports the outcome on the Tenant.
//
// It is its own controller, on purpose: Grafana being down, or its
// credentials being wrong, must never hold up namespace, RBAC or quota work.
// The tenant controller neither waits for it nor shares its finalizer.
//
// Each reconcile follows "read, lock and decide, unlock and write":
//
//  1. read the Tenant and the credentials Secret (at every reconcile, so a
//     rotated Secret is used at once; the Secret is read without a cache,
//     so the manager neither lists nor watches Secrets);
//  2. lock the forest, collect the namespaces of the tenant's subtree and
//     of each team's subtree (only namespaces inside the tenant's own tree
//     count, so a team naming a foreign namespace cannot widen its
//     dashboards), and unlock;
//  3. build the desired state with grafana.FromTenant, call
//     Provisioner.Sync, which writes nothing when nothing drifted, and turn
//     the Result into status with the pure function Status.
//
// Status: this controller owns status.dashboardURL and the condition
// DashboardsReady, written by server-side apply as field manager
// canopy-dashboard, applying only those two fields and only when they
// changed (see TenantStatus for who owns the rest). While Grafana is
// unreachable the last known dashboardURL is kept.
//
// Resync: every Tenant is synced again after Config.Resync (default ten
// minutes) to revert drift made by hand in Grafana, and on every change to
// its spec or to the namespaces of its tree. Status writes do not trigger a
// reconcile.
//
// Deletion: the finalizer tenancy.canopy.dev/grafana is added before the
// first Grafana write and removed last, after Provisioner.Teardown has
// followed the Tenant's deletionPolicy (Delete removes the organization,
// or in a shared organization the tenant's folders, dashboards, teams and
// datasource; Retain keeps them). If Grafana stays unreachable for longer
// than Config.TeardownTimeout (default ten minutes) after the deletion
// began, the controller gives up: it records a Warning event naming what
// may be left in Grafana and removes the finalizer, so a Grafana outage
// never blocks a Tenant's deletion for ever. Anything left behind is found
// by its deterministic names (grafana.FolderUID, TeamName, DatasourceUID).
//
// Datasource: each tenant's Prometheus datasource points at
// Config.DatasourceURLTemplate with {{tenant}} replaced by the tenant's
// name; by default the manager's own label-enforcing proxy (package
// promproxy, --tenant-prometheus-proxy-addr), which confines every query to
// the tenant's namespaces. With Config.DatasourceToken set, the datasource
// sends the tenant's bearer token, kept in its secureJsonData, which no
// Grafana user can read back; a fingerprint in jsonData tells a rotated key
// apart, so the datasource is rewritten only when the token changed.
package dashboard
