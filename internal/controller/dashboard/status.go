package dashboard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/internal/tenantstatus"
)

// FieldManager owns status.dashboardURL and the DashboardsReady condition.
const FieldManager = "canopy-dashboard"

// Finalizer guards the teardown of a Tenant's Grafana space.
const Finalizer = "tenancy.canopy.dev/grafana"

// Reasons of the DashboardsReady condition.
const (
	// ReasonSynced: Grafana matches the Tenant.
	ReasonSynced = "Synced"
	// ReasonGrafanaUnavailable: Grafana is unreachable, failing, or refused
	// the credentials. Retried with exponential backoff.
	ReasonGrafanaUnavailable = "GrafanaUnavailable"
	// ReasonUsersNotFound: some members or viewers have no Grafana user;
	// everything else is provisioned.
	ReasonUsersNotFound = "UsersNotFound"
	// ReasonConfigInvalid: the credentials Secret or options are wrong.
	ReasonConfigInvalid = "ConfigInvalid"
	// ReasonNamespacesPending: the tenant's root, or a team's namespace,
	// is not (yet) in the tenant's tree.
	ReasonNamespacesPending = "NamespacesPending"
	// ReasonSyncFailed: Grafana rejected a request for another reason.
	ReasonSyncFailed = "SyncFailed"
)

// maxMessage bounds condition messages; Grafana errors can be long.
const maxMessage = 2048

// Outcome is what one sync found.
type Outcome struct {
	// Result is the Provisioner's, when it ran.
	Result grafana.Result
	// Err is the error of reading the credentials or of the sync.
	Err error
	// GrafanaURL names the server in messages.
	GrafanaURL string
	// Pending lists, as "team (namespace ns)", the teams left out because
	// their namespace is not in the tenant's tree.
	Pending []string
}

// Condition decides DashboardsReady from an outcome: an error first, then
// pending namespaces, then missing users.
func Condition(o Outcome, generation int64) metav1.Condition {
	c := metav1.Condition{
		Type:               tenancyv1.ConditionDashboardsReady,
		Status:             metav1.ConditionFalse,
		ObservedGeneration: generation,
	}
	switch {
	case o.Err != nil:
		c.Reason = Reason(o.Err)
		switch c.Reason {
		case ReasonGrafanaUnavailable:
			c.Message = fmt.Sprintf("Grafana at %s is unreachable, failing or refused the credentials; retrying with backoff: %v", o.GrafanaURL, o.Err)
		case ReasonConfigInvalid:
			c.Message = o.Err.Error()
		default:
			c.Message = fmt.Sprintf("syncing Grafana at %s: %v", o.GrafanaURL, o.Err)
		}
	case len(o.Pending) > 0:
		c.Reason = ReasonNamespacesPending
		c.Message = "waiting for namespaces in the tenant's tree; left out of Grafana: " + strings.Join(o.Pending, ", ")
	case len(o.Result.MissingUsers) > 0:
		c.Reason = ReasonUsersNotFound
		c.Message = "no Grafana user with these logins or emails; everything else is provisioned: " + strings.Join(o.Result.MissingUsers, ", ")
	default:
		c.Status = metav1.ConditionTrue
		c.Reason = ReasonSynced
		c.Message = "the tenant's Grafana organization, teams, folders and dashboards are in sync"
	}
	if len(c.Message) > maxMessage {
		c.Message = c.Message[:maxMessage-3] + "..."
	}
	return c
}

// Reason classifies an error: ConfigInvalid for a ConfigError,
// GrafanaUnavailable for network errors, 401, 403 and 5xx answers, and
// SyncFailed for anything else.
func Reason(err error) string {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ReasonConfigInvalid
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return ReasonGrafanaUnavailable
	}
	var coded interface{ IsCode(int) bool }
	if errors.As(err, &coded) {
		for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
			if coded.IsCode(code) {
				return ReasonGrafanaUnavailable
			}
		}
	}
	var server interface{ IsServerError() bool }
	if errors.As(err, &server) && server.IsServerError() {
		return ReasonGrafanaUnavailable
	}
	return ReasonSyncFailed
}

// Status returns the status apply configuration of the fields this
// controller owns (dashboardURL and DashboardsReady), and whether they
// differ from t's status. An empty url keeps the last known one, so an
// outage does not blank the link. lastTransitionTime moves only when the
// condition's status does.
func Status(t *tenancyv1.Tenant, cond metav1.Condition, dashboardURL string, now metav1.Time) (*unstructured.Unstructured, bool, error) {
	if dashboardURL == "" {
		dashboardURL = t.Status.DashboardURL
	}
	changed := dashboardURL != t.Status.DashboardURL
	cond.LastTransitionTime = now
	if old := meta.FindStatusCondition(t.Status.Conditions, cond.Type); old != nil {
		if old.Status == cond.Status {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		if old.Status != cond.Status || old.Reason != cond.Reason || old.Message != cond.Message ||
			old.ObservedGeneration != cond.ObservedGeneration {
			changed = true
		}
	} else {
		changed = true
	}
	u, err := tenantstatus.ApplyObject(t.Name, tenancyv1.TenantStatus{DashboardURL: dashboardURL, Conditions: []metav1.Condition{cond}})
	return u, changed, err
}
