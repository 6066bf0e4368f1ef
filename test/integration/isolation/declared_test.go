package isolation

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// TestOwnersCannotDeleteDeclaredNamespaces is issue 11, item 2: a payments
// lead deleted the anchor of payments-batch, which deleted the namespace
// with a Secret in it. The anchors of declared namespaces, and cascading
// deletion above them, are now the platform team's; the lead still
// deletes the subnamespaces the team made itself, and the platform team
// still removes a declared namespace through the Tenant.
func TestOwnersCannotDeleteDeclaredNamespaces(t *testing.T) {
	ctx := context.Background()
	tenant(t, "payments", nil, "payments-api", "payments-api/payments-api-staging", "payments-batch")
	alice := lead(t, "alice", "payments-leads")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "payments-batch", Name: "db"}, StringData: map[string]string{"password": "s3cret"}}
	if err := alice.Create(ctx, secret); err != nil {
		t.Fatalf("the lead could not keep a Secret in a declared namespace: %v", err)
	}

	anchor := func(parent, name string) *hncv1.SubnamespaceAnchor {
		return &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: parent, Name: name}}
	}
	expectDenied(t, "lead deletes a declared leaf's anchor", alice.Delete(ctx, anchor("payments", "payments-batch")),
		`subnamespace "payments-batch" is declared in Tenant "payments"'s spec.namespaces`)
	expectDenied(t, "lead deletes a declared nested anchor", alice.Delete(ctx, anchor("payments-api", "payments-api-staging")),
		`subnamespace "payments-api-staging" is declared`)
	for _, ns := range []string{"payments", "payments-api"} {
		hc := hierarchy(t, alice, ns)
		hc.Spec.AllowCascadingDeletion = true
		expectDenied(t, "lead allows cascading deletion in "+ns, alice.Update(ctx, hc),
			"spec.allowCascadingDeletion", `namespace "`+ns+`" holds namespaces Tenant "payments" declares`)
	}
	stillThere(t, "payments-batch")
	stillThere(t, "payments-api-staging")
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}); err != nil {
		t.Errorf("the Secret in payments-batch: %v", err)
	}

	// The lead's own subnamespaces stay the lead's, cascading included.
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(alice.Create(ctx, anchor("payments-batch", "payments-batch-tmp")))
	})
	waitLabel(t, "payments-batch-tmp", tenancyv1.LabelTenant, "payments")
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(alice.Create(ctx, anchor("payments-batch-tmp", "payments-batch-tmp-x")))
	})
	waitLabel(t, "payments-batch-tmp-x", tenancyv1.LabelTenant, "payments")
	eventually(t, wait, func(ctx context.Context) error {
		hc := hierarchy(t, alice, "payments-batch-tmp")
		hc.Spec.AllowCascadingDeletion = true
		return alice.Update(ctx, hc)
	})
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreNotFound(alice.Delete(ctx, anchor("payments-batch", "payments-batch-tmp")))
	})
	waitGone(t, "payments-batch-tmp-x")
	waitGone(t, "payments-batch-tmp")

	// The platform team removes a declared namespace through the Tenant
	// (the manager deletes the anchor, since it holds no workloads).
	eventually(t, wait, func(ctx context.Context) error {
		tn := &tenancyv1.Tenant{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "payments"}, tn); err != nil {
			return err
		}
		tn.Spec.Namespaces = tn.Spec.Namespaces[:2]
		return admin(t).Update(ctx, tn)
	})
	waitGone(t, "payments-batch")
}
