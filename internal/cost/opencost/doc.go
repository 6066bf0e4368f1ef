// Package opencost reads cost allocations from OpenCost's HTTP API.
//
// Canopy does not import OpenCost's Go module: its root module pulls in every
// cloud SDK, and its newer go.mod points at a local submodule a consumer
// cannot resolve. Instead this package decodes the one response it needs,
// GET /allocation?aggregate=namespace&step=1d&includeIdle=true, into its own
// small types.
//
// Decoding is strict about shape and streaming about memory. The envelope,
// the data array, each step's map and each allocation object must have the
// JSON types OpenCost documents, the fields Canopy uses must be numbers or
// null, and nothing may follow the envelope; anything else is a
// MalformedError naming the step, key and byte offset. Fields Canopy does not
// use are skipped, so that OpenCost can add fields without breaking Canopy.
// OpenCost writes NaN and Inf as null; those decode to NaN, which also stands
// for an absent field, and callers decide what NaN means for them. The
// response is read one step at a time through json.Decoder and handed to a
// visitor, so memory grows with the namespaces of one step, not with the
// number of days in the window.
//
// Errors are typed so a controller can set CostAvailable=False with a clear
// reason (see Reason): UnavailableError when OpenCost cannot be reached or
// is too slow, BadStatusError for a non-2xx status (with an excerpt of the
// body, since OpenCost may write an error text followed by more output), and
// MalformedError for a body that is not the documented shape.
package opencost
