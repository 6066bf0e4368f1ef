package isolationdata

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// promResult is the part of a Prometheus query answer the test reads.
type promResult struct {
	Status string `json:"status"`
	Data   struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// TestReusedNamespaceNameShowsNoOldSeries: Prometheus holds an hour of
// series from a namespace reuse-ns that no longer exists. A lead creates a
// subnamespace of that name in their tenant. Through the proxy, with their
// own tenant's token, they must not read the old namespace's series.
func TestReusedNamespaceNameShowsNoOldSeries(t *testing.T) {
	s := proxyStack(t)
	owner := createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "hist"},
		Spec:       tenancyv1.TenantSpec{Owners: []rbacv1.Subject{groupSubject("hist-leads")}},
	})
	waitNamespace(t, "hist", "", false)
	alice := lead(t, "hist-alice", "hist-leads")
	framework.Eventually(t, wait, func(ctx context.Context) error {
		anchor := &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "hist", Name: historyNamespace}}
		return client.IgnoreAlreadyExists(alice.Create(ctx, anchor))
	})
	waitNamespace(t, historyNamespace, "hist", false)
	ns := &corev1.Namespace{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: historyNamespace}, ns); err != nil {
		t.Fatal(err)
	}
	token := s.tokenOf(owner)

	// Prometheus itself holds the old series.
	direct := url.Values{"query": {"iso_secret"}, "start": {unix(s.historyFrom)}, "end": {unix(s.historyTo)}, "step": {"60"}}
	var got promResult
	_, body, err := httpGet(context.Background(), s.prometheus+"/api/v1/query_range?"+direct.Encode(), "")
	if err != nil || json.Unmarshal([]byte(body), &got) != nil || len(got.Data.Result) != 1 {
		t.Fatalf("Prometheus does not hold the backfilled series: %v %s", err, body)
	}

	for _, q := range []struct{ name, path string }{
		{"range query over the old hour", "/api/v1/query_range?" + direct.Encode()},
		{"range query from the old hour to now", "/api/v1/query_range?" + url.Values{"query": {"iso_secret"}, "start": {unix(s.historyFrom)}, "end": {unix(time.Now())}, "step": {"60"}}.Encode()},
		{"instant query in the old hour", "/api/v1/query?" + url.Values{"query": {"iso_secret"}, "time": {unix(s.historyTo)}}.Encode()},
		{"instant query now over a day", "/api/v1/query?" + url.Values{"query": {"max_over_time(iso_secret[1d])"}}.Encode()},
		{"subquery now over a day", "/api/v1/query?" + url.Values{"query": {"max_over_time(iso_secret[1d:1m])"}}.Encode()},
		{"offset now", "/api/v1/query?" + url.Values{"query": {"iso_secret offset 30m"}}.Encode()},
		{"series over all time", "/api/v1/series?" + url.Values{"match[]": {"iso_secret"}}.Encode()},
		{"series in the old hour", "/api/v1/series?" + url.Values{"match[]": {"iso_secret"}, "start": {unix(s.historyFrom)}, "end": {unix(s.historyTo)}}.Encode()},
		{"label values over all time", "/api/v1/label/owner/values"},
	} {
		t.Run(q.name, func(t *testing.T) {
			code, body, err := s.get(context.Background(), "hist", q.path, token)
			if err != nil {
				t.Fatal(err)
			}
			if code == http.StatusOK && (contains(body, "previous-tenant") || contains(body, `"42"`)) {
				t.Errorf("the old namespace's series are readable under its reused name: %s", body)
			}
			if code != http.StatusOK && code != http.StatusBadRequest {
				t.Errorf("status %d, want 200 (without the old series) or 400: %s", code, body)
			}
		})
	}
	// Once the namespace exists, its own series are read as usual: the
	// query at its creation time plus the lookback finds nothing old, and
	// a plain instant query now is answered.
	code, body, err := s.get(context.Background(), "hist", "/api/v1/query?query=up", token)
	if err != nil || code != http.StatusOK {
		t.Errorf("instant query now: %d %v: %s", code, err, body)
	}
	t.Logf("namespace %s created at %s", historyNamespace, ns.CreationTimestamp.UTC().Format(time.RFC3339))
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
