package opencost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/canopyhq/canopy/internal/cost/period"
)

// wireAllocation is the part of OpenCost's AllocationJSON that Canopy reads.
// Unknown fields are skipped; the known ones must have these shapes.
type wireAllocation struct {
	Name       *string         `json:"name"`
	Properties *wireProperties `json:"properties"`
	Window     *wireWindow     `json:"window"`
	Start      *time.Time      `json:"start"`
	End        *time.Time      `json:"end"`

	CPUCoreHours               nullableFloat `json:"cpuCoreHours"`
	RAMByteHours               nullableFloat `json:"ramByteHours"`
	CPUCost                    nullableFloat `json:"cpuCost"`
	CPUCostAdjustment          nullableFloat `json:"cpuCostAdjustment"`
	GPUCost                    nullableFloat `json:"gpuCost"`
	GPUCostAdjustment          nullableFloat `json:"gpuCostAdjustment"`
	RAMCost                    nullableFloat `json:"ramCost"`
	RAMCostAdjustment          nullableFloat `json:"ramCostAdjustment"`
	PVCost                     nullableFloat `json:"pvCost"`
	PVCostAdjustment           nullableFloat `json:"pvCostAdjustment"`
	NetworkCost                nullableFloat `json:"networkCost"`
	NetworkCostAdjustment      nullableFloat `json:"networkCostAdjustment"`
	LoadBalancerCost           nullableFloat `json:"loadBalancerCost"`
	LoadBalancerCostAdjustment nullableFloat `json:"loadBalancerCostAdjustment"`
	SharedCost                 nullableFloat `json:"sharedCost"`
	ExternalCost               nullableFloat `json:"externalCost"`
	TotalCost                  presentFloat  `json:"totalCost"`
}

type wireProperties struct {
	Cluster         string            `json:"cluster"`
	Namespace       string            `json:"namespace"`
	NamespaceLabels map[string]string `json:"namespaceLabels"`
}

type wireWindow struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
}

// reset makes every float NaN, so that an absent field reads as NaN.
func (w *wireAllocation) reset() {
	nan := nullableFloat(math.NaN())
	*w = wireAllocation{
		CPUCoreHours: nan, RAMByteHours: nan,
		CPUCost: nan, CPUCostAdjustment: nan,
		GPUCost: nan, GPUCostAdjustment: nan,
		RAMCost: nan, RAMCostAdjustment: nan,
		PVCost: nan, PVCostAdjustment: nan,
		NetworkCost: nan, NetworkCostAdjustment: nan,
		LoadBalancerCost: nan, LoadBalancerCostAdjustment: nan,
		SharedCost: nan, ExternalCost: nan,
	}
}

// decoder holds the state of one streamed decode.
type decoder struct {
	dec   *json.Decoder
	steps []period.Window
	visit func(*Step) error
	wire  wireAllocation
	step  Step
	seen  map[string]struct{}
}

// visitError marks an error returned by the visitor, so it is not reported
// as a malformed response.
type visitError struct{ err error }

func (e *visitError) Error() string { return e.err.Error() }
func (e *visitError) Unwrap() error { return e.err }

// Decode reads an allocation response from r, calling visit once per step in
// order. steps are the requested step windows, used for steps that hold no
// allocations; nil is allowed. An error from visit stops decoding and is
// returned wrapped with the step's index. On success the envelope's code
// was 200 and nothing but whitespace followed the envelope.
func Decode(r io.Reader, steps []period.Window, visit func(*Step) error) (Response, error) {
	d := &decoder{dec: json.NewDecoder(r), steps: steps, visit: visit, seen: map[string]struct{}{}}
	resp, err := d.envelope()
	var v *visitError
	if errors.As(err, &v) {
		return resp, v.err
	}
	return resp, err
}

func (d *decoder) malformed(where string, err error) error {
	return &MalformedError{Where: where, Offset: d.dec.InputOffset(), Err: err}
}

func (d *decoder) expectDelim(where string, want json.Delim) error {
	tok, err := d.dec.Token()
	if err != nil {
		return d.malformed(where, err)
	}
	if got, ok := tok.(json.Delim); !ok || got != want {
		return d.malformed(where, fmt.Errorf("want %q, got %s", want, describe(tok)))
	}
	return nil
}

func (d *decoder) key(where string) (string, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return "", d.malformed(where, err)
	}
	k, ok := tok.(string)
	if !ok {
		return "", d.malformed(where, fmt.Errorf("want an object key, got %s", describe(tok)))
	}
	return k, nil
}

func (d *decoder) envelope() (Response, error) {
	var resp Response
	if err := d.expectDelim("envelope", '{'); err != nil {
		return resp, err
	}
	sawData, sawCode := false, false
	for d.dec.More() {
		k, err := d.key("envelope")
		if err != nil {
			return resp, err
		}
		switch k {
		case "code":
			sawCode = true
			if err := d.dec.Decode(&resp.Code); err != nil {
				return resp, d.malformed("code", err)
			}
			if resp.Code != 200 {
				return resp, &BadStatusError{Code: resp.Code, Excerpt: "envelope code " + strconv.Itoa(resp.Code)}
			}
		case "status":
			if err := d.dec.Decode(&resp.Status); err != nil {
				return resp, d.malformed("status", err)
			}
		case "warning", "message":
			var s string
			if err := d.dec.Decode(&s); err != nil {
				return resp, d.malformed(k, err)
			}
			if k == "warning" {
				resp.Warning = s
			}
		case "data":
			sawData = true
			n, err := d.data()
			resp.Steps = n
			if err != nil {
				return resp, err
			}
		default:
			var skip json.RawMessage
			if err := d.dec.Decode(&skip); err != nil {
				return resp, d.malformed(k, err)
			}
		}
	}
	if err := d.expectDelim("envelope", '}'); err != nil {
		return resp, err
	}
	if tok, err := d.dec.Token(); err != io.EOF {
		if err == nil {
			err = fmt.Errorf("unexpected %s", describe(tok))
		}
		return resp, d.malformed("after envelope", err)
	}
	if !sawData {
		return resp, d.malformed("envelope", errors.New(`no "data" field`))
	}
	// OpenCost always sends its code; an answer without one is not its
	// success.
	if !sawCode {
		return resp, d.malformed("envelope", errors.New(`no "code" field`))
	}
	return resp, nil
}

func (d *decoder) data() (int, error) {
	if err := d.expectDelim("data", '['); err != nil {
		return 0, err
	}
	n := 0
	for ; d.dec.More(); n++ {
		if err := d.stepAt(n); err != nil {
			return n, err
		}
	}
	return n, d.expectDelim("data", ']')
}

func (d *decoder) stepAt(i int) error {
	where := fmt.Sprintf("data[%d]", i)
	if err := d.expectDelim(where, '{'); err != nil {
		return err
	}
	s := &d.step
	s.Index = i
	s.Window = period.Window{}
	s.Allocations = s.Allocations[:0]
	clear(d.seen)
	for d.dec.More() {
		k, err := d.key(where)
		if err != nil {
			return err
		}
		if _, dup := d.seen[k]; dup {
			return d.malformed(fmt.Sprintf("%s[%q]", where, k), errors.New("duplicate key"))
		}
		d.seen[k] = struct{}{}
		if err := d.allocation(i, k); err != nil {
			return err
		}
	}
	if err := d.expectDelim(where, '}'); err != nil {
		return err
	}
	if s.Window.Start.IsZero() && i < len(d.steps) {
		s.Window = d.steps[i]
	}
	if err := d.visit(s); err != nil {
		return &visitError{fmt.Errorf("handling step %d (%s): %w", i, s.Window, err)}
	}
	return nil
}

func (d *decoder) allocation(i int, key string) error {
	where := func() string { return fmt.Sprintf("data[%d][%q]", i, key) }
	w := &d.wire
	w.reset()
	if err := d.dec.Decode(w); err != nil {
		return d.malformed(where(), err)
	}
	if w.Name == nil {
		return d.malformed(where(), errors.New(`no "name" field: not an allocation`))
	}
	if !w.TotalCost.present {
		return d.malformed(where(), errors.New(`no "totalCost" field`))
	}
	s := &d.step
	if len(s.Allocations) < cap(s.Allocations) {
		s.Allocations = s.Allocations[:len(s.Allocations)+1]
	} else {
		s.Allocations = append(s.Allocations, Allocation{})
	}
	a := &s.Allocations[len(s.Allocations)-1]
	*a = Allocation{
		Key:                        key,
		Name:                       *w.Name,
		CPUCoreHours:               float64(w.CPUCoreHours),
		RAMByteHours:               float64(w.RAMByteHours),
		CPUCost:                    float64(w.CPUCost),
		CPUCostAdjustment:          float64(w.CPUCostAdjustment),
		GPUCost:                    float64(w.GPUCost),
		GPUCostAdjustment:          float64(w.GPUCostAdjustment),
		RAMCost:                    float64(w.RAMCost),
		RAMCostAdjustment:          float64(w.RAMCostAdjustment),
		PVCost:                     float64(w.PVCost),
		PVCostAdjustment:           float64(w.PVCostAdjustment),
		NetworkCost:                float64(w.NetworkCost),
		NetworkCostAdjustment:      float64(w.NetworkCostAdjustment),
		LoadBalancerCost:           float64(w.LoadBalancerCost),
		LoadBalancerCostAdjustment: float64(w.LoadBalancerCostAdjustment),
		SharedCost:                 float64(w.SharedCost),
		ExternalCost:               float64(w.ExternalCost),
		TotalCost:                  float64(w.TotalCost.v),
	}
	if p := w.Properties; p != nil {
		a.Cluster, a.Namespace, a.NamespaceLabels = p.Cluster, p.Namespace, p.NamespaceLabels
	}
	if w.Start != nil {
		a.Start = w.Start.UTC()
	}
	if w.End != nil {
		a.End = w.End.UTC()
	}
	if w.Window != nil && w.Window.Start != nil && w.Window.End != nil {
		win := period.Window{Start: w.Window.Start.UTC(), End: w.Window.End.UTC()}
		switch {
		case s.Window.Start.IsZero():
			s.Window = win
		case s.Window != win:
			return d.malformed(where(), fmt.Errorf("window %s differs from the step's window %s", win, s.Window))
		}
	}
	return nil
}

func parseFloat(b []byte) (float64, error) {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, &shapeError{want: "a finite number", got: excerpt(b, 32)}
	}
	return v, nil
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("string %q", excerpt([]byte(v), 32))
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T %v", v, v)
	}
}

// excerpt returns at most n bytes of b as printable, valid UTF-8.
func excerpt(b []byte, n int) string {
	cut := false
	if len(b) > n {
		b, cut = b[:n], true
	}
	out := make([]rune, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == utf8.RuneError && size <= 1:
			out = append(out, '?')
		case r == '\n' || r == '\r' || r == '\t':
			out = append(out, ' ')
		case r < 0x20 || r == 0x7f:
			out = append(out, '?')
		default:
			out = append(out, r)
		}
	}
	s := string(out)
	if cut {
		s += "..."
	}
	return s
}
