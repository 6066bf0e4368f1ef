// Package metrics holds Canopy's Prometheus collectors. Every value is
// computed at scrape time from the manager's informer caches, never kept in
// gauges that would have to be updated and deleted: an object that is gone
// from the cache is gone from the next scrape, so deleted objects leave no
// stale series. Names carry the canopy_ prefix and labels stay bounded
// (namespaces and object names, never pods).
package metrics
