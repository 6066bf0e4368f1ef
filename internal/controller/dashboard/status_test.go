package dashboard

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/grafana"
)

type codedErr int

func (c codedErr) Error() string        { return fmt.Sprintf("HTTP %d", int(c)) }
func (c codedErr) IsCode(code int) bool { return int(c) == code }

func TestReason(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"config", fmt.Errorf("x: %w", configErrorf("bad")), ReasonConfigInvalid},
		{"network", fmt.Errorf("reading org: %w", &url.Error{Op: "Get", URL: "u", Err: errors.New("refused")}), ReasonGrafanaUnavailable},
		{"unauthorized", fmt.Errorf("reading org: %w", codedErr(401)), ReasonGrafanaUnavailable},
		{"server error", fmt.Errorf("writing: %w", codedErr(503)), ReasonGrafanaUnavailable},
		{"bad request", fmt.Errorf("writing: %w", codedErr(400)), ReasonSyncFailed},
		{"other", errors.New("boom"), ReasonSyncFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Reason(tc.err); got != tc.want {
				t.Errorf("Reason(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}

func TestCondition(t *testing.T) {
	cases := []struct {
		name       string
		o          Outcome
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"synced", Outcome{}, metav1.ConditionTrue, ReasonSynced},
		{"missing users", Outcome{Result: grafana.Result{MissingUsers: []string{"ghost"}}}, metav1.ConditionFalse, ReasonUsersNotFound},
		{"pending beats users", Outcome{Pending: []string{"dev (namespace x)"}, Result: grafana.Result{MissingUsers: []string{"ghost"}}}, metav1.ConditionFalse, ReasonNamespacesPending},
		{"error beats all", Outcome{Err: codedErr(403), Pending: []string{"dev"}}, metav1.ConditionFalse, ReasonGrafanaUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Condition(tc.o, 4)
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.ObservedGeneration != 4 ||
				c.Type != tenancyv1.ConditionDashboardsReady || c.Message == "" {
				t.Errorf("Condition = %+v, want %s/%s at generation 4 with a message", c, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	then := metav1.NewTime(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	ready := metav1.Condition{Type: tenancyv1.ConditionDashboardsReady, Status: metav1.ConditionTrue, Reason: ReasonSynced, Message: "ok", ObservedGeneration: 2}
	existing := func(url string, c metav1.Condition) *tenancyv1.Tenant {
		c.LastTransitionTime = then
		t := tenant("acme")
		t.Status.DashboardURL = url
		// A condition of the tenant controller must be neither sent nor compared.
		t.Status.Conditions = []metav1.Condition{c, {Type: tenancyv1.ConditionReady, Status: metav1.ConditionFalse, Reason: "X", LastTransitionTime: then}}
		return t
	}
	notReady := ready
	notReady.Status, notReady.Reason = metav1.ConditionFalse, ReasonGrafanaUnavailable
	otherMsg := ready
	otherMsg.Message = "different"
	cases := []struct {
		name        string
		t           *tenancyv1.Tenant
		cond        metav1.Condition
		url         string
		wantChanged bool
		wantURL     string
		wantLTT     metav1.Time
	}{
		{"unchanged", existing("u1", ready), ready, "u1", false, "u1", then},
		{"empty URL keeps the last one", existing("u1", ready), ready, "", false, "u1", then},
		{"new URL", existing("u1", ready), ready, "u2", true, "u2", then},
		{"message change keeps transition time", existing("u1", ready), otherMsg, "u1", true, "u1", then},
		{"status change moves transition time", existing("u1", ready), notReady, "", true, "u1", now},
		{"first write", tenant("acme"), ready, "u1", true, "u1", now},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, changed, err := Status(tc.t, tc.cond, tc.url, now)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			url, _, _ := unstructured.NestedString(u.Object, "status", "dashboardURL")
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			want := tc.cond
			want.LastTransitionTime = tc.wantLTT
			wantCond := map[string]any{
				"type": want.Type, "status": string(want.Status), "reason": want.Reason, "message": want.Message,
				"observedGeneration": want.ObservedGeneration, "lastTransitionTime": want.LastTransitionTime.UTC().Format(time.RFC3339),
			}
			if diff := cmp.Diff([]any{wantCond}, conds); diff != "" {
				t.Errorf("applied conditions (-want +got):\n%s", diff)
			}
			if url != tc.wantURL {
				t.Errorf("applied dashboardURL = %q, want %q", url, tc.wantURL)
			}
			if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "namespaces"); found {
				t.Error("status.namespaces is sent; it belongs to canopy-tenant")
			}
			if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "observedGeneration"); found {
				t.Error("status.observedGeneration is sent; it belongs to canopy-tenant")
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{URL: "https://grafana.example.com", CredentialsSecret: secretRef}
	cases := []struct {
		name    string
		mod     func(*Config)
		wantErr bool
	}{
		{"good", func(*Config) {}, false},
		{"bad url", func(c *Config) { c.URL = "grafana" }, true},
		{"bad public url", func(c *Config) { c.PublicURL = "ftp://x" }, true},
		{"no secret", func(c *Config) { c.CredentialsSecret.Name = "" }, true},
		{"bad template", func(c *Config) { c.DatasourceURLTemplate = "prom/{{tenant}}" }, true},
		{"custom template", func(c *Config) { c.DatasourceURLTemplate = "http://proxy/{{tenant}}/x" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			if err := c.Validate(); (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
	if got, want := (Config{}).datasourceURL("acme"), "http://canopy-prometheus-proxy.canopy-system.svc:9095/tenants/acme"; got != want {
		t.Errorf("default datasource URL = %q, want %q", got, want)
	}
}

func TestParseSecretRef(t *testing.T) {
	if got, err := ParseSecretRef("canopy-system/grafana"); err != nil || got != secretRef {
		t.Errorf("ParseSecretRef = %v, %v; want %v", got, err, secretRef)
	}
	for _, bad := range []string{"", "grafana", "/grafana", "ns/", "a/b/c"} {
		if _, err := ParseSecretRef(bad); err == nil {
			t.Errorf("ParseSecretRef(%q) succeeded, want an error", bad)
		}
	}
}
