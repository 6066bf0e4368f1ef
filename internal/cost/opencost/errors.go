package opencost

import (
	"errors"
	"fmt"
)

// Condition reasons for each class of failure, for CostAvailable=False.
const (
	ReasonUnavailable = "OpenCostUnavailable"
	ReasonBadStatus   = "OpenCostBadStatus"
	ReasonMalformed   = "OpenCostMalformed"
	ReasonFailed      = "CostReportFailed"
)

// UnavailableError means OpenCost could not be reached or did not answer in
// time. It wraps the transport or context error.
type UnavailableError struct {
	URL string
	Err error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("opencost unavailable at %s: %v", e.URL, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// BadStatusError means OpenCost answered with a non-2xx HTTP status, or with
// an envelope whose code is not 200.
type BadStatusError struct {
	URL  string
	Code int
	// Excerpt is the start of the body (or the envelope's message),
	// truncated and made printable.
	Excerpt string
}

func (e *BadStatusError) Error() string {
	return fmt.Sprintf("opencost at %s answered status %d: %q", e.URL, e.Code, e.Excerpt)
}

// MalformedError means the body is not the documented allocation response.
type MalformedError struct {
	// Where names the part of the response, e.g. `data[3]["payments"]`.
	Where string
	// Offset is the byte offset in the body where decoding stopped.
	Offset int64
	Err    error
}

func (e *MalformedError) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("malformed opencost response at byte %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("malformed opencost response at %s (byte %d): %v", e.Where, e.Offset, e.Err)
}

func (e *MalformedError) Unwrap() error { return e.Err }

// Reason maps an error from this package to a condition reason.
func Reason(err error) string {
	var (
		u *UnavailableError
		b *BadStatusError
		m *MalformedError
	)
	switch {
	case errors.As(err, &u):
		return ReasonUnavailable
	case errors.As(err, &b):
		return ReasonBadStatus
	case errors.As(err, &m):
		return ReasonMalformed
	default:
		return ReasonFailed
	}
}
