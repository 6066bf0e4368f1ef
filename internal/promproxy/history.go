package promproxy

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// A namespace's name can be reused: deleted, then created again, perhaps
// in another tenant's tree. Prometheus keeps the old namespace's series
// under the same namespace label, so the namespace matcher alone would
// hand the new owner the old one's history. The proxy therefore lets a
// request read a namespace's series only from the namespace's creation on:
//
//   - A query (/api/v1/query, query_range, query_exemplars) reads samples
//     from its earliest evaluation time (time, or start) less its
//     look-behind: the lookback delta for a plain selector, the range of a
//     range selector, offsets and subquery ranges added up (see
//     lookbehind). A namespace created after that earliest read is left
//     out of the query's matcher; the @ modifier, which reads at any
//     absolute time, is refused. So a 7-day graph does not show a 2-day-old
//     namespace until the range starts after the namespace was created;
//     that is the price of never showing a predecessor's data.
//   - The metadata endpoints (/api/v1/series, labels, label values) have
//     their start moved to the creation of the tenant's newest namespace;
//     /federate, an instant read, leaves out namespaces younger than the
//     lookback.

// DefaultLookback is Prometheus's default --query.lookback-delta.
const DefaultLookback = 5 * time.Minute

// noNamespace is a namespace matcher value no namespace can have (not a DNS
// label): the matcher when every namespace of a scope is left out.
const noNamespace = "-"

// ErrAtModifier is returned for a query using the @ modifier.
var ErrAtModifier = errors.New("the @ modifier is not supported by the tenant proxy")

// lookbehind is how far before its evaluation time a query may read.
func lookbehind(expr parser.Expr, lookback time.Duration) (time.Duration, error) {
	var longest time.Duration
	var err error
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok || err != nil {
			return nil
		}
		if vs.Timestamp != nil || vs.StartOrEnd != 0 || vs.OriginalOffsetExpr != nil {
			err = ErrAtModifier
			return nil
		}
		back := lookback
		if len(path) > 0 {
			if ms, ok := path[len(path)-1].(*parser.MatrixSelector); ok {
				if ms.RangeExpr != nil {
					err = fmt.Errorf("%w: a range given as an expression", ErrBadQuery)
					return nil
				}
				back = ms.Range
			}
		}
		back += max(vs.OriginalOffset, 0)
		for _, anc := range path {
			sq, ok := anc.(*parser.SubqueryExpr)
			if !ok {
				continue
			}
			if sq.Timestamp != nil || sq.StartOrEnd != 0 || sq.OriginalOffsetExpr != nil || sq.RangeExpr != nil || sq.StepExpr != nil {
				err = ErrAtModifier
				return nil
			}
			back += sq.Range + sq.Step + max(sq.OriginalOffset, 0)
		}
		longest = max(longest, back)
		return nil
	})
	return longest, err
}

// parseTime reads a Prometheus API time: RFC 3339 or Unix seconds.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e13 {
			return time.Time{}, fmt.Errorf("time %q is out of range", s)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is neither RFC 3339 nor Unix seconds", s)
	}
	return t, nil
}

// earliestOf returns the earliest of the values of keys in vs, or now
// when none is set.
func earliestOf(now time.Time, keys []string, vs ...url.Values) (time.Time, error) {
	earliest := now
	for _, v := range vs {
		for _, k := range keys {
			for _, s := range v[k] {
				t, err := parseTime(strings.TrimSpace(s))
				if err != nil {
					return time.Time{}, fmt.Errorf("%w: parameter %s: %w", ErrBadQuery, k, err)
				}
				if t.Before(earliest) {
					earliest = t
				}
			}
		}
	}
	return earliest, nil
}

// bornBy keeps the namespaces created at or before t; a namespace whose
// creation is unknown is left out. With none left the scope matches
// nothing.
func (h *handler) bornBy(s Scope, t time.Time) Scope {
	if h.cfg.NamespaceCreated == nil {
		return s
	}
	var keep []string
	for _, ns := range s.Namespaces {
		// Creation times are whole seconds, truncated: the namespace may
		// be up to a second younger.
		if created, ok := h.cfg.NamespaceCreated(ns); ok && !created.Add(time.Second).After(t) {
			keep = append(keep, ns)
		}
	}
	if len(keep) == 0 {
		keep = []string{noNamespace}
	}
	return Scope{Tenant: s.Tenant, Namespaces: keep}
}

// newestCreation is the creation time of the scope's newest namespace
// (zero when unknown).
func (h *handler) newestCreation(s Scope) time.Time {
	var newest time.Time
	if h.cfg.NamespaceCreated == nil {
		return newest
	}
	for _, ns := range s.Namespaces {
		created, ok := h.cfg.NamespaceCreated(ns)
		if !ok {
			return time.Now()
		}
		if created = created.Add(time.Second); created.After(newest) {
			newest = created
		}
	}
	return newest
}

// metadataPaths are the endpoints whose start is moved to the newest
// namespace's creation.
var metadataPaths = []string{"/api/v1/series", "/api/v1/labels", "/api/v1/label/"}

// clampMetadata moves the start of a metadata request (URL and form) to the
// creation of the scope's newest namespace, and, for /federate, leaves out
// namespaces younger than the lookback. It returns the scope to enforce.
func (h *handler) clampMetadata(w http.ResponseWriter, r *http.Request, s Scope) (Scope, bool) {
	p := r.URL.Path
	if p == "/federate" {
		return h.bornBy(s, time.Now().Add(-h.lookback())), true
	}
	meta := false
	for _, m := range metadataPaths {
		meta = meta || p == m || (strings.HasSuffix(m, "/") && strings.HasPrefix(p, m))
	}
	if !meta || h.cfg.NamespaceCreated == nil {
		return s, true
	}
	floor := h.newestCreation(s)
	clamp := func(v url.Values) error {
		start := floor
		for _, str := range v["start"] {
			t, err := parseTime(strings.TrimSpace(str))
			if err != nil {
				return fmt.Errorf("parameter start: %w", err)
			}
			if t.After(start) {
				start = t
			}
		}
		v.Set("start", strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64))
		return nil
	}
	q := r.URL.Query()
	if err := clamp(q); err != nil {
		apiError(w, http.StatusBadRequest, "bad_data", err.Error())
		return s, false
	}
	r.URL.RawQuery = q.Encode()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			apiError(w, http.StatusBadRequest, "bad_data", fmt.Sprintf("reading the form: %v", err))
			return s, false
		}
		if err := clamp(r.PostForm); err != nil {
			apiError(w, http.StatusBadRequest, "bad_data", err.Error())
			return s, false
		}
		setBody(r, r.PostForm)
	}
	return s, true
}

func (h *handler) lookback() time.Duration {
	if h.cfg.Lookback > 0 {
		return h.cfg.Lookback
	}
	return DefaultLookback
}
