// Package export writes chargeback files so that no reader ever sees a
// partial or wrong one, and plans the scheduled export.
//
// A report is produced by streaming OpenCost's response through the
// roll-up into a CSV writer; any failure on the way (OpenCost unreachable,
// a malformed response, a conservation check) must leave nothing behind.
// WriteFile therefore writes to a temporary file in the target directory,
// syncs it, and publishes it with a hard link, which fails if the name
// exists: a closed period, once exported, is never rewritten, even by a
// second replica racing the first. WriteBuffered is the same guarantee for
// an io.Writer such as an HTTP response: nothing is written until the
// producer has finished without error.
//
// Plan is pure: given the closed periods (see package period) and which
// files already exist, it lists the exports still to do.
package export
