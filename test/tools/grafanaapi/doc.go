// Package grafanaapi is a strict contract double of Grafana's HTTP API,
// the one Grafana Canopy's tests run against. No Grafana server is built
// or run anywhere in the repository: the server is under the AGPL.
//
// It serves exactly the endpoints Canopy and its tests call, on 127.0.0.1:
//
//	GET  /api/health                          (no auth)
//	POST /api/admin/users, GET /api/users/lookup   (server admin)
//	GET  /api/orgs/name/{name}, POST /api/orgs, DELETE /api/orgs/{id}
//	GET, POST /api/orgs/{id}/users, DELETE /api/orgs/{id}/users/{userId}
//	POST /api/datasources, GET, PUT, DELETE /api/datasources/uid/{uid}
//	POST /api/folders, GET, PUT, DELETE /api/folders/{uid}
//	GET, POST /api/folders/{uid}/permissions
//	GET /api/teams/search, POST /api/teams, DELETE /api/teams/{id}
//	GET, POST /api/teams/{id}/members, DELETE /api/teams/{id}/members/{userId}
//	GET, DELETE /api/dashboards/uid/{uid}, POST /api/dashboards/db
//	GET /api/search, POST /api/ds/query        (as team members)
//
// Request and response bodies are the types of grafana-openapi-client-go,
// and the contract test decodes every response into them with unknown
// fields disallowed. The double is deliberately stricter than Grafana: it
// refuses unknown JSON fields in requests (except inside the free-form
// dashboard model and ds/query's queries), an unknown path with 404, a
// wrong method with 405, and unauthenticated or unauthorized callers with
// 401 and 403, always in Grafana's error shape {"message": "..."}.
//
// What it models:
//   - organizations, the X-Grafana-Org-Id header (else the caller's own
//     organization), membership with org roles Viewer < Editor < Admin,
//     and the creator of an organization becoming its Admin;
//   - basic auth for users, and service-account tokens bound to one
//     organization and role (AddServiceAccountToken); server-wide
//     endpoints take a server admin;
//   - folder ACLs with team, user and role entries, evaluated for users
//     that are not organization Admins: GET of folders and dashboards,
//     /api/search and saving dashboards see only what the ACL grants.
//     A new folder gets Grafana's defaults (Editor edits, Viewer views);
//     POST permissions replaces the whole set; deleting a team or removing
//     a user from the organization drops their entries and memberships;
//   - teams, members, the creating user becoming a team admin member;
//   - dashboards by UID, with id and version added by the server on GET,
//     version checks unless overwrite is set, and a folder's deletion
//     deleting its dashboards;
//   - datasources, secureJsonData stored but never returned (only
//     secureJsonFields), and kept on update when not sent;
//   - POST /api/ds/query for Prometheus datasources: each query goes to
//     the datasource URL (/api/v1/query_range or /api/v1/query, POST when
//     jsonData.httpMethod says so) with its httpHeaderName1 header and the
//     httpHeaderValue1 secure value, and the answer is Grafana's data-frame
//     JSON (schema.fields, data.values) for range and instant queries and
//     format "table". A failed query answers 400 with its error, as
//     Grafana does.
//
// What it does not model: nested folders and inherited permissions, the
// dashboard-level ACL, folder and dashboard title uniqueness beyond the
// General level, provisioning, versions history, users' own preferences,
// quotas, other datasource types and their proxying, alerting, API keys
// (only service-account tokens), basic-auth datasource settings, the web
// UI. Requests that would need any of these are refused with 400 rather
// than silently accepted.
//
// Go API: Start or New (a test's helper) start it; Server.URL,
// AdminUser and AdminPassword reach it; CreateUser (through the API),
// AddUsers and AddServiceAccountToken (directly) make identities; View
// and Edit read and change the State under its lock (Edit is how tests
// make drift by hand without an API call); Calls, Writes, Mark,
// CallsSince and WritesSince count what callers did; FailWhen injects
// 500s; Down and Up make it refuse connections and come back; Do and
// Server.Admin call any Grafana, double or real.
package grafanaapi
