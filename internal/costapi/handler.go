package costapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/canopyhq/canopy/internal/cost"
	"github.com/canopyhq/canopy/internal/cost/opencost"
	"github.com/canopyhq/canopy/internal/cost/period"
	"github.com/canopyhq/canopy/internal/forestsync"
)

// Source is the live attribution view: every Tenant and live namespace.
type Source interface {
	Directory(ctx context.Context) (cost.Directory, error)
}

// Handler serves the API. Every field but Now and Log is required.
type Handler struct {
	// Authenticator identifies the caller: the front proxy's request
	// headers (see NewDelegatingAuth).
	Authenticator authenticator.Request
	// Authorizer decides, with SubjectAccessReview, whether the caller may
	// get a tenant.
	Authorizer authorizer.UnconditionalAuthorizer
	Source     Source
	OpenCost   opencost.Client
	// Fleet, set on a fleet hub, names the members a fleet Tenant is on and
	// their OpenCost; a fleet Tenant's chargeback merges theirs
	// (ComputeFleet). Nil on a single cluster.
	Fleet    FleetSource
	Rollup   cost.Options
	Currency string
	// Loaded, if set, reports whether the attribution view is complete
	// (the forest has loaded); until then chargebacks are refused with 503
	// rather than computed from a partial tree.
	Loaded func() bool
	// Now is the clock relative windows are computed from; nil means
	// time.Now.
	Now func() time.Time
	// MaxConcurrent and MaxConcurrentPerUser bound the chargebacks this
	// server computes at once, in total and for one user; more are refused
	// with 429 Too Many Requests. Zero means DefaultMaxConcurrent and
	// DefaultMaxConcurrentPerUser. Set them before the first request.
	MaxConcurrent, MaxConcurrentPerUser int
	Log                                 logr.Logger

	limitOnce sync.Once
	limits    *limiter
}

func (h *Handler) limiter() *limiter {
	h.limitOnce.Do(func() { h.limits = newLimiter(h.MaxConcurrent, h.MaxConcurrentPerUser) })
	return h.limits
}

var _ http.Handler = (*Handler)(nil)

// ServeHTTP authenticates the caller and routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, apierrors.NewMethodNotSupported(TenantResource, r.Method))
		return
	}
	resp, ok, err := h.Authenticator.AuthenticateRequest(r)
	if err != nil || !ok {
		if err != nil {
			h.Log.V(1).Info("Unauthenticated request", "path", r.URL.Path, "error", err.Error())
		}
		writeError(w, apierrors.NewUnauthorized("Unauthorized: requests must come through the Kubernetes API server's front proxy"))
		return
	}
	u := resp.User
	switch path := strings.TrimSuffix(r.URL.Path, "/"); path {
	case pathAPIs:
		writeJSON(w, groupList())
	case pathGroup:
		writeJSON(w, groupDiscovery())
	case pathVersion:
		writeJSON(w, resourceList())
	case PathTenants:
		h.list(w, r, u)
	default:
		rest, ok := strings.CutPrefix(path, PathTenants+"/")
		parts := strings.Split(rest, "/")
		switch {
		case ok && len(parts) == 1 && parts[0] != "":
			h.get(w, r, u, parts[0])
		case ok && len(parts) == 2 && parts[0] != "" && parts[1] == "chargeback":
			h.chargeback(w, r, u, parts[0])
		default:
			writeError(w, apierrors.NewGenericServerResponse(http.StatusNotFound, "get", TenantResource, "",
				fmt.Sprintf("no such path %q; serving %s, %s/NAME and %s", r.URL.Path, PathTenants, PathTenants, ChargebackPath("NAME")), 0, false))
		}
	}
}

// authorize reports whether u may verb tenants.tenancy.canopy.dev (name,
// or all of them when name is empty).
func (h *Handler) authorize(ctx context.Context, u user.Info, verb, name string) (bool, error) {
	dec, _, err := h.Authorizer.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: verb, APIGroup: TenantResource.Group, APIVersion: "v1alpha1",
		Resource: TenantResource.Resource, Name: name, ResourceRequest: true,
	})
	if err != nil {
		return false, fmt.Errorf("authorizing %s of tenant %q for %q: %w", verb, name, u.GetName(), err)
	}
	return dec == authorizer.DecisionAllow, nil
}

// access checks that u may get tenant name and that it exists, writing the
// error response if not.
func (h *Handler) access(w http.ResponseWriter, r *http.Request, u user.Info, name string) (cost.Directory, bool) {
	allowed, err := h.authorize(r.Context(), u, "get", name)
	if err != nil {
		h.internal(w, err)
		return cost.Directory{}, false
	}
	if !allowed {
		writeError(w, apierrors.NewForbidden(TenantResource, name,
			fmt.Errorf( //nolint:staticcheck // worded like the API server's own Forbidden message
				"User %q cannot get resource %q in API group %q (needed to read its cost)", u.GetName(), TenantResource.Resource, TenantResource.Group)))
		return cost.Directory{}, false
	}
	dir, err := h.Source.Directory(r.Context())
	if err != nil {
		h.internal(w, err)
		return cost.Directory{}, false
	}
	if _, ok := dir.Tenants[name]; !ok {
		writeError(w, apierrors.NewNotFound(TenantResource, name))
		return cost.Directory{}, false
	}
	return dir, true
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request, u user.Info, name string) {
	if _, ok := h.access(w, r, u, name); ok {
		writeJSON(w, newTenant(name))
	}
}

// list returns the tenants u may get: all of them if u may list tenants,
// else each one u may get by name.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, u user.Info) {
	ctx := r.Context()
	dir, err := h.Source.Directory(ctx)
	if err != nil {
		h.internal(w, err)
		return
	}
	all, err := h.authorize(ctx, u, "list", "")
	if err != nil {
		h.internal(w, err)
		return
	}
	var names []string
	for name := range dir.Tenants {
		if !all {
			ok, err := h.authorize(ctx, u, "get", name)
			if err != nil {
				h.internal(w, err)
				return
			}
			if !ok {
				continue
			}
		}
		names = append(names, name)
	}
	slices.Sort(names)
	list := TenantList{TypeMeta: metav1.TypeMeta{Kind: KindTenantList, APIVersion: GroupVersion.String()}, Items: []Tenant{}}
	for _, n := range names {
		list.Items = append(list.Items, newTenant(n))
	}
	writeJSON(w, list)
}

// ParseQuery reads window, format and summary from a chargeback request's
// query. now is the clock relative windows are computed from; an absent
// window means month to date.
func ParseQuery(v map[string][]string, now time.Time) (period.Window, Format, bool, error) {
	get := func(k string) string {
		if vs := v[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	win := get("window")
	if win == "" {
		win = "mtd"
	}
	wnd, err := period.ParseWindow(win, now)
	if err != nil {
		return period.Window{}, "", false, fmt.Errorf("query parameter window: %w", err)
	}
	if d := wnd.Duration(); d > MaxWindow {
		days := (d + 24*time.Hour - 1) / (24 * time.Hour)
		return period.Window{}, "", false, fmt.Errorf("query parameter window: %q spans %d days, more than the maximum of %d days; ask for several shorter windows",
			win, days, MaxWindowDays)
	}
	f, err := ParseFormat(get("format"))
	if err != nil {
		return period.Window{}, "", false, fmt.Errorf("query parameter format: %w", err)
	}
	summary := false
	if s := get("summary"); s != "" {
		if summary, err = strconv.ParseBool(s); err != nil {
			return period.Window{}, "", false, fmt.Errorf("query parameter summary: %q is not true or false", s)
		}
	}
	return wnd, f, summary, nil
}

func (h *Handler) chargeback(w http.ResponseWriter, r *http.Request, u user.Info, name string) {
	dir, ok := h.access(w, r, u, name)
	if !ok {
		return
	}
	if h.Loaded != nil && !h.Loaded() {
		writeError(w, apierrors.NewServiceUnavailable(forestsync.ErrNotLoaded.Error()))
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	win, format, summary, err := ParseQuery(r.URL.Query(), now())
	if err != nil {
		writeError(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	release, refused := h.limiter().acquire(u.GetName())
	if refused != nil {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		writeError(w, refused)
		return
	}
	defer release()
	cb, err := h.compute(r.Context(), dir, Query{Window: win, Tenant: name, Summary: summary})
	if err != nil {
		var (
			un  *opencost.UnavailableError
			bad *opencost.BadStatusError
			mal *opencost.MalformedError
		)
		if errors.As(err, &un) || errors.As(err, &bad) || errors.As(err, &mal) {
			h.Log.Error(err, "OpenCost failed a chargeback", "tenant", name, "window", win.String())
			writeError(w, apierrors.NewServiceUnavailable(fmt.Sprintf("reading cost from OpenCost (%s): %v", opencost.Reason(err), err)))
			return
		}
		h.internal(w, err)
		return
	}
	// Encode in full before sending anything, so a failure cannot leave
	// a truncated CSV at the client.
	var buf bytes.Buffer
	if err := cb.Write(&buf, format); err != nil {
		h.internal(w, err)
		return
	}
	if format == FormatJSON {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", FileName(name, win, summary)))
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = buf.WriteTo(w)
}

// writer is a computed chargeback, single-cluster or fleet.
type writer interface {
	Write(io.Writer, Format) error
}

// compute returns the chargeback of q: over the members' OpenCost for a
// fleet Tenant on a hub, else over this cluster's.
func (h *Handler) compute(ctx context.Context, dir cost.Directory, q Query) (writer, error) {
	if h.Fleet != nil {
		members, isFleet, err := h.Fleet.FleetMembers(ctx, q.Tenant)
		if err != nil {
			return nil, err
		}
		if isFleet {
			return ComputeFleet(ctx, members, FleetDirectory(dir), h.Rollup, h.Currency, q)
		}
	}
	return computeOn(ctx, nil, h.OpenCost, dir, h.Rollup, h.Currency, q)
}

// computeOn returns the chargeback of q over the members' OpenCost, as a
// hub attributes them (FleetDirectory), or over oc's when there are no
// members.
func computeOn(ctx context.Context, members []FleetMember, oc opencost.Client, dir cost.Directory, opts cost.Options, currency string, q Query) (writer, error) {
	if len(members) > 0 {
		return ComputeFleet(ctx, members, FleetDirectory(dir), opts, currency, q)
	}
	return Compute(ctx, oc, dir, opts, currency, q)
}

// FileName is the suggested name of a chargeback CSV.
func FileName(tenant string, w period.Window, summary bool) string {
	kind := "chargeback"
	if summary {
		kind = "chargeback-summary"
	}
	const day = "2006-01-02T150405Z"
	return fmt.Sprintf("%s-%s-%s-%s.csv", kind, tenant, w.Start.UTC().Format(day), w.End.UTC().Format(day))
}

func (h *Handler) internal(w http.ResponseWriter, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.Log.Error(err, "Cost API request failed")
	writeError(w, apierrors.NewInternalError(err))
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("encoding response: %w", err)))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.Status()
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Disposition")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(b)
}
