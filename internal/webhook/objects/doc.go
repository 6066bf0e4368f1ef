// Package objects is the validating webhook for propagated object types
// (HNC's "objects" webhook). It protects copies (only the manager may
// change or delete an object carrying hnc.x-k8s.io/inherited-from), rejects
// sources that would overwrite a descendant's own object, and rejects
// invalid propagation exception annotations.
//
// Handle decodes the request and reads the forest under its lock; Decide is
// the pure decision. The webhook never writes to the API except for one
// best-effort Warning event on the descendant's object when it denies a
// conflict (skipped for dry runs).
//
// The rules (which types reach this webhook) are owned at runtime by the
// hncconfig reconciler; see its package documentation.
package objects
