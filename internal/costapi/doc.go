// Package costapi serves chargeback through the Kubernetes API itself, as
// the aggregated API cost.canopy.dev/v1alpha1, the way metrics-server
// serves `kubectl top`:
//
//	GET /apis/cost.canopy.dev/v1alpha1/tenants                     the tenants the caller may get
//	GET /apis/cost.canopy.dev/v1alpha1/tenants/NAME                one of them
//	GET /apis/cost.canopy.dev/v1alpha1/tenants/NAME/chargeback     ?window=START,END|lastmonth|mtd&format=csv|json&summary=true|false
//
// plus the discovery documents the aggregator and kubectl read (/apis,
// /apis/cost.canopy.dev, /apis/cost.canopy.dev/v1alpha1).
//
// # Who may read what
//
// The kube-apiserver authenticates the user, whatever their kubeconfig
// uses, and proxies the request with the user's name and groups in
// X-Remote-User and X-Remote-Group, over a client certificate signed by the
// request-header CA. The manager trusts those headers only from that
// certificate: the CA, the allowed names and the header names are read
// from the extension-apiserver-authentication ConfigMap in kube-system and
// followed as it changes (k8s.io/apiserver's request-header authenticator).
// Authorization is delegated to the API server with SubjectAccessReview: a
// tenant's chargeback, like the tenant itself in this API, needs `get` on
// tenants.tenancy.canopy.dev with the tenant's name. The Tenant controller
// grants each tenant's owners that, and the shipped ClusterRole
// canopy-finance grants it on every tenant. (The API server first checks
// RBAC on cost.canopy.dev itself before proxying; config/costapi grants
// that to every authenticated user, so the Tenant check is what decides.)
//
// # Never a partial report
//
// A chargeback is computed in full before a byte is sent: OpenCost's
// response is streamed through the roll-up of package cost (idle and shared
// cost spread over all tenants, so the whole cluster is rolled up and then
// filtered to the tenant), conservation is checked, and only then is the
// CSV or JSON written to the response. Any failure is a Kubernetes Status
// with the matching code: 400 for a bad window or format (the message names
// the accepted forms), 403 when the caller may not get the tenant, 404 for
// an unknown tenant, 503 when OpenCost is unavailable.
//
// # Bounded work
//
// A window may span at most MaxWindowDays (400) days; a longer one is a
// 400 naming the maximum, before OpenCost is asked anything. Each replica
// computes at most MaxConcurrent chargebacks at once, and at most
// MaxConcurrentPerUser of one user's (4 and 2 by default,
// --cost-api-max-concurrent and --cost-api-max-concurrent-per-user); more
// are refused with 429 Too Many Requests and Retry-After. OpenCost's answer
// is decoded step by step, so a chargeback holds the roll-up's running
// totals (one row per namespace) and its encoded answer, not the window's
// steps: TestChargebackMemoryStaysUnderBudget measures a 400-day
// chargeback of 1,000 namespaces at about 5 MiB of live heap, against a
// budget of 64 MiB per request.
//
// # Scheduled export
//
// Exporter, on the leader, writes the whole cluster's chargeback of every
// closed UTC day or month to a directory, one CSV per period, with package
// export's atomic write-once files, once the namespace forest has loaded.
package costapi
