// Package promproxy serves each tenant a view of Prometheus confined to its
// own data: the label-enforcing proxy behind every tenant's Grafana
// datasource.
//
// # Why
//
// In Grafana OSS, folder permissions hide dashboards but not data, and
// per-datasource permissions are an Enterprise feature. Canopy therefore
// gives each tenant its own Grafana organization holding one Prometheus
// datasource, and points that datasource here, at /tenants/<tenant>/. Any
// member of the organization can send any PromQL through the datasource
// (Explore, a dashboard edited in the browser, /api/ds/query), so the
// confinement must happen below Grafana, on every query, whatever its text.
//
// # Design
//
//   - Served by the manager itself, on every replica (not only the leader),
//     on its own address (--tenant-prometheus-proxy-addr), in front of one
//     upstream Prometheus (--prometheus-url). The namespace set of a tenant
//     is read from the forest at each request, so a subnamespace created a
//     second ago is covered without any reconfiguration, and a deleted one
//     stops being readable at once. Until the forest has loaded, requests
//     get 503 rather than a partial view.
//   - Authenticated per Tenant object. The bearer token of tenant T is
//     HMAC-SHA256(key, T's name and UID), where the key is a manager secret
//     shared by all replicas (--tenant-prometheus-proxy-key-file), and it is
//     honoured only while a Tenant named T with that UID exists and is not
//     being deleted (read from the manager's cache at each request). A
//     deleted tenant's token therefore opens nothing, not even a namespace
//     later given the tenant's name in another tenant's tree, and a tenant
//     deleted and created again gets a new token. Canopy writes the token
//     into the datasource's secureJsonData, which Grafana encrypts and never
//     returns through its API, so Viewers and Editors can use the
//     datasource but cannot read the token. A request for /tenants/A/ with
//     no token gets 401, and with B's token (or any other, or when A is no
//     live Tenant) gets 403: holding one tenant's token opens no other
//     tenant's data. No state is kept beyond the Tenants themselves: any
//     replica can check any token. The key is read at start, so rotating it
//     means a rolling restart; the new leader's dashboard controller then
//     sees each datasource's token fingerprint differ and rewrites it,
//     while replicas still on the old key refuse the new tokens until they
//     restart too. (Tokens of Canopy versions that signed the name alone
//     are replaced the same way.)
//   - Enforced with github.com/prometheus-community/prom-label-proxy's
//     injectproxy package. Every vector and matrix selector of a query gets
//     namespace=~"ns1|ns2|..." (the names regexp-quoted) appended; a
//     selector that already asks for another tenant's namespace keeps its
//     own matcher too, so the two together match nothing (the query is
//     answered, empty). The metadata endpoints (/api/v1/series, /labels,
//     /label/<name>/values, /federate) get the same matcher in every
//     match[], through injectproxy's own routes; /api/v1/rules and
//     /api/v1/alerts are filtered by it too. injectproxy filters those two
//     responses on their exact paths only, though it routes
//     /api/v1/rules/ and /api/v1/alerts/ (and below) to the same
//     handlers: a path ending in a slash, holding an empty segment, or
//     below either endpoint is refused with 404 before it reaches
//     Prometheus, whatever the backend would do with it.
//
// # What prom-label-proxy does and does not do
//
// injectproxy enforces a set of values for one label: given several values
// it builds the regexp matcher namespace=~"a|b" with each value quoted
// (there is no need for its regex mode, which takes one raw regexp), and
// its ExtractLabeler interface lets Canopy supply the values per request
// from the forest rather than from a header a client could forge. What it
// does not do, and this package adds:
//
//   - authentication: it trusts whoever sets the label value, and expects
//     to sit behind an authenticating proxy; here the tenant comes from the
//     path and is proven by the HMAC token;
//   - several tenants on one listener: one injectproxy handler serves every
//     tenant, the path prefix /tenants/<tenant> selecting the values;
//   - a different rule per metric: injectproxy applies one label to every
//     selector, which would hide the two kinds of series the dashboards
//     need that carry no namespace label. So the query endpoints
//     (/api/v1/query, /query_range, /query_exemplars) walk the PromQL tree
//     themselves and apply injectproxy's PromQLEnforcer selector by
//     selector (see Rules): Canopy's per-tenant series (canopy_tenant_*,
//     labelled tenant, not namespace) are confined to tenant="<tenant>"
//     instead, and OpenCost's node price lists (node_cpu_hourly_cost and
//     the like, a property of the cluster's nodes, not of any tenant) are
//     left unfiltered. Only a selector naming the metric exactly
//     (__name__="...") gets one of these rules; a regexp on __name__ gets
//     the namespace matcher, so it cannot widen the exemption.
//   - the Authorization header is removed before a request goes upstream,
//     so Prometheus never sees a tenant token.
//
// A namespace name can be reused after its namespace is deleted, in any
// tenant's tree; Prometheus keeps the old series under the same label. A
// request therefore reads each namespace's series only from the namespace's
// creation on (history.go): a query leaves out the namespaces created after
// the earliest sample it may read (its start or time, less the lookback,
// ranges, offsets and subquery ranges), and refuses the @ modifier;
// metadata requests start at the tenant's newest namespace's creation.
//
// The metadata endpoints apply the namespace matcher to every series, so
// Grafana's metric browser does not list the canopy_tenant_* and price
// metrics; queries naming them work.
package promproxy
