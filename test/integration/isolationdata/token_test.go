package isolationdata

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/promproxy"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// tokenOf is the token the dashboard controller gives tn's datasource.
func (s *stack) tokenOf(tn *tenancyv1.Tenant) string {
	return promproxy.Token(s.key, tn.Name, tn.UID)
}

// waitNamespace waits until ns exists (and, with ancestor set, sits under
// it), or, with gone, until it no longer exists.
func waitNamespace(t *testing.T, ns, ancestor string, gone bool) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, n)
		switch {
		case gone && apierrors.IsNotFound(err):
			return nil
		case gone && err == nil:
			return fmt.Errorf("namespace %s still exists (phase %s)", ns, n.Status.Phase)
		case err != nil:
			return err
		case ancestor != "" && n.Labels[ancestor+api.LabelTreeDepthSuffix] == "":
			return fmt.Errorf("namespace %s is not yet under %s: %v", ns, ancestor, n.Labels)
		}
		return nil
	})
}

// TestDeletedTenantsTokenOpensNothing: a tenant is deleted; a lead of
// another tenant creates a subnamespace with the deleted tenant's name. The
// old tenant's token (still in an old Grafana datasource, a backup, a
// former member's notes) must not read the new namespace.
func TestDeletedTenantsTokenOpensNothing(t *testing.T) {
	s := proxyStack(t)
	ctx := context.Background()
	gone := createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "tok-gone"},
		Spec:       tenancyv1.TenantSpec{DeletionPolicy: tenancyv1.DeletionDelete},
	})
	keep := createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "tok-keep"},
		Spec:       tenancyv1.TenantSpec{Owners: []rbacv1.Subject{groupSubject("tok-leads")}},
	})
	waitNamespace(t, "tok-gone", "", false)
	waitNamespace(t, "tok-keep", "", false)
	oldToken := s.tokenOf(gone)
	query := "/api/v1/query?query=up"

	// While the tenant lives its token reads its namespace.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		code, body, err := s.get(ctx, "tok-gone", query, oldToken)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("live tenant's own token: %d %v: %s", code, err, body)
		}
		return nil
	})

	if err := admin(t).Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	waitNamespace(t, "tok-gone", "", true)
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKey{Name: gone.Name}, &tenancyv1.Tenant{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("tenant tok-gone still exists: %v", err)
	})

	// Another tenant's lead takes the name for a subnamespace.
	alice := lead(t, "tok-alice", "tok-leads")
	framework.Eventually(t, wait, func(ctx context.Context) error {
		anchor := &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "tok-keep", Name: "tok-gone"}}
		return client.IgnoreAlreadyExists(alice.Create(ctx, anchor))
	})
	waitNamespace(t, "tok-gone", "tok-keep", false)

	// The new owner's own token covers it...
	framework.Eventually(t, wait, func(ctx context.Context) error {
		code, body, err := s.get(ctx, "tok-keep", query, s.tokenOf(keep))
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("tok-keep's own token: %d %v: %s", code, err, body)
		}
		return nil
	})
	// ...and the deleted tenant's token opens nothing, however it is
	// aimed.
	for _, tenant := range []string{"tok-gone", "tok-keep"} {
		code, body, err := s.get(ctx, tenant, query, oldToken)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusForbidden {
			t.Errorf("deleted tenant's token on /tenants/%s: status %d, want 403: %s", tenant, code, body)
		}
	}
}

// TestUnfilteredPathsRefused: through the manager's proxy, in front of a
// real Prometheus, the rules and alerts endpoints answer on their exact
// paths only; the spellings prom-label-proxy routes but does not filter are
// refused before they reach Prometheus.
func TestUnfilteredPathsRefused(t *testing.T) {
	s := proxyStack(t)
	tn := createTenant(t, &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "paths"}})
	waitNamespace(t, "paths", "", false)
	token := s.tokenOf(tn)
	framework.Eventually(t, wait, func(ctx context.Context) error {
		for _, p := range []string{"/api/v1/rules", "/api/v1/alerts"} {
			if code, body, err := s.get(ctx, "paths", p, token); err != nil || code != http.StatusOK {
				return fmt.Errorf("%s: %d %v: %s", p, code, err, body)
			}
		}
		return nil
	})
	for _, p := range []string{"/api/v1/rules/", "/api/v1/alerts/", "/api/v1/rules/x", "/api/v1/alerts%2F"} {
		code, body, err := s.get(context.Background(), "paths", p, token)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusNotFound || !strings.Contains(body, "is not served") {
			t.Errorf("%s: status %d, want 404 from the proxy: %s", p, code, body)
		}
	}
}
