package opencost

import (
	"math"
	"strings"
	"time"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// Keys OpenCost uses for cost that belongs to no namespace.
const (
	KeyIdle        = "__idle__"
	KeyUnallocated = "__unallocated__"
)

// Allocation is one namespace's cost over one step, as far as Canopy uses
// it. Every float is NaN when OpenCost wrote null or omitted the field.
type Allocation struct {
	// Key is the allocation's key in the step's map: a namespace name,
	// __idle__ or __unallocated__ (possibly prefixed with a cluster).
	Key             string
	Name            string
	Cluster         string
	Namespace       string
	NamespaceLabels map[string]string
	Start, End      time.Time

	CPUCoreHours float64
	RAMByteHours float64

	CPUCost, CPUCostAdjustment                   float64
	GPUCost, GPUCostAdjustment                   float64
	RAMCost, RAMCostAdjustment                   float64
	PVCost, PVCostAdjustment                     float64
	NetworkCost, NetworkCostAdjustment           float64
	LoadBalancerCost, LoadBalancerCostAdjustment float64
	SharedCost, ExternalCost                     float64
	TotalCost                                    float64
}

// IsIdle reports whether the allocation is OpenCost's idle cost.
func (a *Allocation) IsIdle() bool { return isSpecial(a.Key, KeyIdle) }

// IsUnallocated reports whether the allocation is OpenCost's cost that it
// could not attribute to a namespace.
func (a *Allocation) IsUnallocated() bool { return isSpecial(a.Key, KeyUnallocated) }

func isSpecial(key, special string) bool {
	return key == special || strings.HasSuffix(key, "/"+special)
}

// Step is one step (one day) of an allocation response.
type Step struct {
	// Index is the step's position in the response, from 0.
	Index int
	// Window is the step's window as OpenCost reports it, or the requested
	// step when the step has no allocations.
	Window period.Window
	// Allocations are in response order. The slice and the allocations are
	// reused for the next step: a visitor must not retain them.
	Allocations []Allocation
}

// Response is what the envelope says besides the data.
type Response struct {
	Code    int
	Status  string
	Warning string
	Steps   int
}

// nullableFloat decodes a JSON number or null, and rejects anything else.
type nullableFloat float64

func (f *nullableFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = nullableFloat(math.NaN())
		return nil
	}
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return &shapeError{want: "a number or null", got: excerpt(b, 32)}
	}
	v, err := parseFloat(b)
	if err != nil {
		return err
	}
	*f = nullableFloat(v)
	return nil
}

type shapeError struct {
	want, got string
}

func (e *shapeError) Error() string { return "want " + e.want + ", got " + e.got }

// presentFloat is a nullableFloat that also records whether the field was
// present at all, for fields an allocation must have.
type presentFloat struct {
	v       nullableFloat
	present bool
}

func (f *presentFloat) UnmarshalJSON(b []byte) error {
	f.present = true
	return f.v.UnmarshalJSON(b)
}
