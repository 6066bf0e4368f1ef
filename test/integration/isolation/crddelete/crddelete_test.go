// Package crddelete tests an uninstall of Canopy's Tenant CRD while the
// manager runs (issue 11, item 1): the API server deletes every Tenant,
// and Canopy must release their finalizers without tearing anything down,
// even under deletionPolicy: Delete, neither the namespaces and their
// contents nor the tenant's Grafana organization. It has a control plane
// of its own, since it deletes a CRD every other test relies on.
package crddelete

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	dashboardctrl "github.com/canopyhq/canopy/internal/controller/dashboard"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/internal/grafana"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var (
	env     *framework.Env
	grafDbl = newGrafanaDouble()
)

const (
	wait       = 90 * time.Second
	credsName  = "grafana-credentials"
	tenantName = "un"
	tenantCRD  = "tenants.tenancy.canopy.dev"
	// quotaCRDName is the HierarchicalQuota CRD.
	quotaCRDName = "hierarchicalquotas.tenancy.canopy.dev"
)

// TestMain starts the control plane with a manager whose dashboard
// controller talks to the Grafana double.
func TestMain(m *testing.M) {
	e, err := framework.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the integration environment:", err)
		os.Exit(1)
	}
	env = e
	code := func() int {
		ctx := context.Background()
		ns := e.Options.Forest.ManagerNamespace
		if err := e.Client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: credsName},
			Data:       map[string][]byte{"username": []byte("admin"), "password": []byte("secret")},
		}); err != nil {
			fmt.Fprintln(os.Stderr, "creating the Grafana credentials:", err)
			return 1
		}
		e.StopManager()
		opts := e.Options
		opts.Dashboard.GrafanaURL = "http://127.0.0.1:1"
		opts.Dashboard.CredentialsSecret = ns + "/" + credsName
		opts.Dashboard.NewClient = func(grafana.Config) (grafana.Client, error) { return grafDbl, nil }
		if err := e.StartManager(opts); err != nil {
			fmt.Fprintln(os.Stderr, "restarting the manager with Grafana:", err)
			return 1
		}
		return m.Run()
	}()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the integration environment:", err)
	}
	os.Exit(code)
}

// TestDeletingTheTenantCRDKeepsEveryTree has the platform team delete the
// Tenant CRD while a Delete-policy Tenant's lead keeps a Secret and a
// ConfigMap in its namespaces. Before the fix the Tenant finalizer deleted
// the whole tree and the dashboard finalizer deleted the Grafana
// organization.
func TestDeletingTheTenantCRDKeepsEveryTree(t *testing.T) {
	ctx := context.Background()
	admin := env.Admin(t)
	tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenantName}, Spec: tenancyv1.TenantSpec{
		Owners:         []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "un-leads"}},
		Namespaces:     []tenancyv1.TenantNamespace{{Name: "un-api"}, {Name: "un-api-staging", Parent: "un-api"}, {Name: "un-batch"}},
		Teams:          []tenancyv1.Team{{Name: "api", Namespace: "un-api"}},
		Quota:          &tenancyv1.TenantQuota{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}},
		DeletionPolicy: tenancyv1.DeletionDelete,
	}}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(admin.Create(ctx, tn.DeepCopy()))
	})
	tree := []string{tenantName, "un-api", "un-api-staging", "un-batch"}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		cur := &tenancyv1.Tenant{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: tenantName}, cur); err != nil {
			return err
		}
		for _, f := range []string{tenancyv1.FinalizerTenant, dashboardctrl.Finalizer} {
			if !controllerutil.ContainsFinalizer(cur, f) {
				return fmt.Errorf("tenant lacks finalizer %s", f)
			}
		}
		for _, nm := range tree {
			ns := &corev1.Namespace{}
			if err := env.Client.Get(ctx, client.ObjectKey{Name: nm}, ns); err != nil {
				return err
			}
			if ns.Labels[tenancyv1.LabelTenant] != tenantName {
				return fmt.Errorf("namespace %s not labelled yet", nm)
			}
		}
		if ok, _ := grafDbl.org(tenantName); !ok {
			return fmt.Errorf("grafana organization %q not provisioned yet", tenantName)
		}
		return nil
	})

	// The lead keeps data in the tree, through the access the Tenant gave.
	alice, _, err := env.UserClient("alice", "un-leads")
	if err != nil {
		t.Fatal(err)
	}
	data := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "un-api-staging", Name: "db"}, StringData: map[string]string{"password": "s3cret"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "un-batch", Name: "settings"}, Data: map[string]string{"k": "v"}},
	}
	for _, o := range data {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(alice.Create(ctx, o.DeepCopyObject().(client.Object)))
		})
	}

	// An uninstall deletes the quota CRD too, perhaps first: the tenant
	// quota the Tenant generated, which its webhook keeps from users, must
	// not wedge it.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: tenantName, Name: tenantctrl.QuotaName}, &tenancyv1.HierarchicalQuota{})
	})
	quotaCRD := crdObject(quotaCRDName)
	if err := admin.Delete(ctx, quotaCRD); err != nil {
		t.Fatalf("deleting the HierarchicalQuota CRD: %v", err)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := admin.Get(ctx, client.ObjectKeyFromObject(quotaCRD), crdObject(quotaCRDName))
		if err == nil {
			return fmt.Errorf("CRD %s still exists", quotaCRDName)
		}
		return client.IgnoreNotFound(err)
	})

	crd := crdObject(tenantCRD)
	if err := admin.Delete(ctx, crd); err != nil {
		t.Fatalf("deleting the Tenant CRD: %v", err)
	}
	// The API server finishes deleting the CRD only once every Tenant's
	// finalizers are released.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := admin.Get(ctx, client.ObjectKeyFromObject(crd), crdObject(tenantCRD))
		if err == nil {
			return fmt.Errorf("CRD %s still exists", tenantCRD)
		}
		return client.IgnoreNotFound(err)
	})
	// Stop the manager, as an uninstall does, then look: nothing it could
	// still do may count.
	env.StopManager()
	for _, nm := range tree {
		ns := &corev1.Namespace{}
		if err := admin.Get(ctx, client.ObjectKey{Name: nm}, ns); err != nil {
			t.Errorf("namespace %s after the Tenant CRD was deleted: %v", nm, err)
			continue
		}
		if ns.DeletionTimestamp != nil {
			t.Errorf("namespace %s is being deleted after the Tenant CRD was deleted", nm)
		}
	}
	for _, o := range data {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopyObject().(client.Object)); err != nil {
			t.Errorf("%T %s after the Tenant CRD was deleted: %v", o, client.ObjectKeyFromObject(o), err)
		}
	}
	ok, deletes := grafDbl.org(tenantName)
	if !ok {
		t.Errorf("the tenant's Grafana organization is gone after the Tenant CRD was deleted")
	}
	if len(deletes) > 0 {
		t.Errorf("Grafana received deletes during the uninstall: %v", deletes)
	}
}

// crdObject is a CRD, unstructured (the clients' scheme has no
// apiextensions types).
func crdObject(name string) *unstructured.Unstructured {
	m := &unstructured.Unstructured{}
	m.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	m.SetName(name)
	return m
}
