package uninstall

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
	"sigs.k8s.io/yaml"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	dashboardctrl "github.com/canopyhq/canopy/internal/controller/dashboard"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/grafanaapi"
)

// canopyGroups are the API groups whose CRDs an uninstall deletes.
var canopyGroups = []string{hncv1.MetaGroup, tenancyv1.GroupVersion.Group}

// TestUninstallKeepsEveryNamespaceAndGrafana is issue 11's uninstall test.
// The sample Tenants (payments under Retain, search under Delete) hold
// Deployments, pods, Secrets and ConfigMaps, and subnamespaces their leads
// made; the dashboard controller has given each its Grafana organization
// on the Grafana API double. Every one of Canopy's CRDs is deleted while
// the manager runs: the API server can finish only once every finalizer is
// released, and they must be released without teardown. Then the manager
// stops, and every namespace, everything in it, and both Grafana
// organizations are still there.
//
// It deletes every CRD the package's other tests rely on, so each case
// runs on a control plane of its own. With workloads in search's tree its
// Delete policy refuses to delete the tree (a finalizer that never lets
// go wedges the uninstall); without them nothing would stop the
// deletion (the loss issue 11 reproduced): both must keep everything. The
// second case also deletes HNC's CRDs before Canopy's own, so the tree
// comes apart (no HierarchyConfigurations) while the Tenants still live.
func TestUninstallKeepsEveryNamespaceAndGrafana(t *testing.T) {
	t.Run("workloads in every namespace, all CRDs at once", func(t *testing.T) { uninstall(t, true, false) })
	t.Run("search holds only Secrets and ConfigMaps, HNC's CRDs first", func(t *testing.T) { uninstall(t, false, true) })
}

func uninstall(t *testing.T, searchWorkloads, hncFirst bool) {
	ctx := context.Background()
	e, err := framework.Start()
	if err != nil {
		t.Fatalf("starting a control plane for the uninstall: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stopping the uninstall's control plane: %v", err)
		}
	})
	admin := e.Admin(t)

	// The dashboard controller on, one organization per tenant, pointed at
	// the double with a server admin's basic auth.
	g := grafanaapi.New(t, grafanaapi.Options{AdminUser: "admin", AdminPassword: "uninstall-pw"})
	g.AddUsers("alice", "bob", "carol")
	mgrNS := e.Options.Forest.ManagerNamespace
	if err := admin.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: mgrNS, Name: "grafana"},
		StringData: map[string]string{dashboardctrl.SecretKeyUsername: g.AdminUser, dashboardctrl.SecretKeyPassword: g.AdminPassword}}); err != nil {
		t.Fatal(err)
	}
	opts := e.Options
	opts.Dashboard.GrafanaURL = g.URL
	opts.Dashboard.CredentialsSecret = mgrNS + "/grafana"
	e.StopManager()
	if err := e.StartManager(opts); err != nil {
		t.Fatal(err)
	}

	waitAdminAggregated(t, admin)
	for _, tn := range sampleTenants(t) {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(admin.Create(ctx, tn.DeepCopy()))
		})
	}
	declared := []string{"payments", "payments-api", "payments-api-staging", "payments-batch",
		"search", "search-index", "search-index-eu", "search-index-us", "search-query"}
	for _, nm := range declared {
		waitTenantLabel(t, admin, nm)
	}
	// Each tenant's owners make a subnamespace of their own.
	leads := []struct{ user, group, parent, name string }{
		{"alice", "payments-leads", "payments-api", "payments-api-feature"},
		{"carol", "", "search-index-us", "search-index-us-exp"},
	}
	for _, l := range leads {
		var groups []string
		if l.group != "" {
			groups = append(groups, l.group)
		}
		c, _, err := e.UserClient(l.user, groups...)
		if err != nil {
			t.Fatal(err)
		}
		framework.Eventually(t, wait, func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(c.Create(ctx, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: l.parent, Name: l.name}}))
		})
		waitTenantLabel(t, admin, l.name)
	}
	all := append(slices.Clone(declared), "payments-api-feature", "search-index-us-exp")

	// Data everywhere: a Secret, a ConfigMap, a Deployment and a pod in
	// every namespace (the test control plane runs no deployment
	// controller, so the Deployment's pods are not made; the bare pod
	// stands for them).
	for _, nm := range all {
		objs := []client.Object{
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: nm, Name: "credentials"}, StringData: map[string]string{"password": "s3cret-" + nm}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: nm, Name: "settings"}, Data: map[string]string{"k": nm}},
		}
		if searchWorkloads || !strings.HasPrefix(nm, "search") {
			objs = append(objs, workload(nm, true), workload(nm, false))
		}
		for _, o := range objs {
			var last error
			framework.Eventually(t, wait, func(ctx context.Context) error {
				err := client.IgnoreAlreadyExists(admin.Create(ctx, o))
				if err != nil && ctx.Err() == nil {
					last = err
				}
				if err != nil && last != nil {
					return last
				}
				return err
			})
		}
	}
	// Both tenants have their Grafana organization, with folders, and
	// Canopy's finalizers are on the Tenants.
	grafanaBefore := map[string]orgSnapshot{}
	framework.Eventually(t, 90*time.Second, func(ctx context.Context) error {
		for _, tn := range []string{"payments", "search"} {
			s := snapshotOrg(g, tn)
			if s.id == 0 || len(s.folders) == 0 || len(s.dashboards) == 0 {
				return fmt.Errorf("grafana organization %q not provisioned yet: %+v", tn, s)
			}
			grafanaBefore[tn] = s
			got := &tenancyv1.Tenant{}
			if err := admin.Get(ctx, client.ObjectKey{Name: tn}, got); err != nil {
				return err
			}
			if !slices.Contains(got.Finalizers, dashboardctrl.Finalizer) {
				return fmt.Errorf("tenant %s has finalizers %v, want %s too", tn, got.Finalizers, dashboardctrl.Finalizer)
			}
		}
		return nil
	})
	before := snapshot(t, admin, all)

	// The uninstall: every CRD of Canopy's two groups, while the manager runs.
	crds := canopyCRDs(t, admin)
	if len(crds) != 6 {
		t.Fatalf("found Canopy's CRDs %v, want 6", crds)
	}
	// All at once, or (hncFirst) HNC's group first, each waited until gone,
	// then Canopy's own: an uninstall may take them in any order.
	groups := [][]string{crds}
	if hncFirst {
		var hnc, own []string
		for _, name := range crds {
			if strings.HasSuffix(name, "."+hncv1.MetaGroup) {
				hnc = append(hnc, name)
			} else {
				own = append(own, name)
			}
		}
		groups = [][]string{hnc, own}
	}
	released := true
	for _, group := range groups {
		for _, name := range group {
			if err := admin.Delete(ctx, crdMetaNamed(name)); err != nil {
				t.Fatalf("deleting CRD %s: %v", name, err)
			}
		}
		// The API server deletes each CRD once every finalizer on its
		// objects is released; a finalizer that waits on teardown it
		// refuses keeps it (one that tears down loses data, checked below).
		if left := waitCRDsGone(t, admin, group, 60*time.Second); len(left) > 0 {
			released = false
			t.Errorf("after 60s the CRDs %v are still being deleted: some finalizer was not released; %s", left, pendingFinalizers(ctx, admin))
			break
		}
	}
	e.StopManager()
	t.Logf("CRDs released: %v", released)

	after := snapshot(t, admin, all)
	for _, k := range sortedKeys(before) {
		switch got, ok := after[k]; {
		case !ok:
			t.Errorf("%s is gone after the uninstall", k)
		case got.uid != before[k].uid:
			t.Errorf("%s was replaced (uid %s, was %s) during the uninstall", k, got.uid, before[k].uid)
		case got.deleting:
			t.Errorf("%s is being deleted after the uninstall", k)
		}
	}
	for tn, was := range grafanaBefore {
		now := snapshotOrg(g, tn)
		if now.id != was.id {
			t.Errorf("Grafana organization %q: id %d after the uninstall, was %d", tn, now.id, was.id)
			continue
		}
		for _, f := range was.folders {
			if !slices.Contains(now.folders, f) {
				t.Errorf("Grafana organization %q lost folder %s", tn, f)
			}
		}
		for _, d := range was.dashboards {
			if !slices.Contains(now.dashboards, d) {
				t.Errorf("Grafana organization %q lost dashboard %s", tn, d)
			}
		}
	}
}

// workload is a Deployment (deploy) or a bare pod in ns; both request what
// the sample quotas limit.
func workload(ns string, deploy bool) client.Object {
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/app:1",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi"),
		}}}}}
	if !deploy {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "worker"}, Spec: spec}
	}
	one := int32(1)
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
	}}
}

func waitTenantLabel(t *testing.T, c client.Client, ns string) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		if n.Labels[tenancyv1.LabelTenant] == "" {
			return fmt.Errorf("namespace %s has no tenant label yet", ns)
		}
		return nil
	})
}

// waitAdminAggregated waits until HNC's verbs are in the admin ClusterRole,
// so owners can create subnamespaces.
func waitAdminAggregated(t *testing.T, c client.Client) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		cr := &rbacv1.ClusterRole{}
		if err := c.Get(ctx, client.ObjectKey{Name: "admin"}, cr); err != nil {
			return err
		}
		for _, r := range cr.Rules {
			if slices.Contains(r.APIGroups, hncv1.MetaGroup) && slices.Contains(r.Resources, "subnamespaceanchors") {
				return nil
			}
		}
		return fmt.Errorf("HNC's verbs not yet in the admin ClusterRole")
	})
}

// sampleTenants decodes config/samples/tenants.yaml.
func sampleTenants(t *testing.T) []*tenancyv1.Tenant {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "samples", "tenants.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*tenancyv1.Tenant
	policies := map[tenancyv1.DeletionPolicy]bool{}
	for _, doc := range strings.Split(string(data), "\n---") {
		tn := &tenancyv1.Tenant{}
		if err := yaml.Unmarshal([]byte(doc), tn); err != nil {
			t.Fatalf("decoding a sample Tenant: %v", err)
		}
		if tn.Name != "" {
			out = append(out, tn)
			policies[tn.Spec.DeletionPolicy] = true
		}
	}
	if !policies[tenancyv1.DeletionRetain] || !policies[tenancyv1.DeletionDelete] {
		t.Fatalf("the samples' deletion policies are %v, want Retain and Delete", policies)
	}
	return out
}

// waitCRDsGone waits until none of names is left and returns those left.
func waitCRDsGone(t *testing.T, c client.Client, names []string, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var left []string
		for _, n := range canopyCRDs(t, c) {
			if slices.Contains(names, n) {
				left = append(left, n)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		<-time.After(250 * time.Millisecond)
	}
}

// canopyCRDs lists the CRDs of Canopy's groups still present.
func canopyCRDs(t *testing.T, c client.Client) []string {
	t.Helper()
	l := &unstructured.UnstructuredList{}
	l.SetAPIVersion("apiextensions.k8s.io/v1")
	l.SetKind("CustomResourceDefinitionList")
	if err := c.List(context.Background(), l); err != nil {
		t.Fatalf("listing CRDs: %v", err)
	}
	var out []string
	for _, crd := range l.Items {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		if slices.Contains(canopyGroups, group) {
			out = append(out, crd.GetName())
		}
	}
	sort.Strings(out)
	return out
}

func crdMetaNamed(name string) *unstructured.Unstructured {
	m := crdMeta()
	m.SetName(name)
	return m
}

// pendingFinalizers names the Tenants and anchors still holding
// finalizers, for the failure message.
func pendingFinalizers(ctx context.Context, c client.Client) string {
	var out []string
	tl := &tenancyv1.TenantList{}
	if err := c.List(ctx, tl); err == nil {
		for _, tn := range tl.Items {
			out = append(out, fmt.Sprintf("Tenant %s %v", tn.Name, tn.Finalizers))
		}
	}
	al := &hncv1.SubnamespaceAnchorList{}
	if err := c.List(ctx, al); err == nil {
		for _, a := range al.Items {
			if len(a.Finalizers) > 0 {
				out = append(out, fmt.Sprintf("anchor %s/%s %v", a.Namespace, a.Name, a.Finalizers))
			}
		}
	}
	return "pending: " + strings.Join(out, "; ")
}
