// Package takeover runs HNC v1.1.0's own controller (built from its module
// by `make hnc-bins`) against a local control plane, lets it build a
// hierarchy, stops it, starts Canopy, and checks that Canopy adopts
// everything HNC wrote in place: tree labels, subnamespace anchors and
// their namespaces, propagated Roles, RoleBindings and a configured type,
// and a HierarchicalResourceQuota with HNC's ResourceQuota singletons.
//
// Each step of docs/migrate-from-hnc.md is a step here (guide_test.go):
// HNC's release webhook configurations are installed, HNC is stopped and
// they are deleted by name, Canopy starts with hnc-system excluded, the
// result is verified, and Canopy is rolled back to HNC.
package takeover

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
	"github.com/canopyhq/canopy/test/tools/controlplane"
)

const timeout = 60 * time.Second

// The tree HNC builds:
//
//	tk-root
//	├── tk-mid
//	│   ├── tk-leaf
//	│   └── tk-sub   (subnamespace of tk-mid)
//	└── tk-gone      (subnamespace of tk-root, deleted through its anchor after the takeover)
const (
	root = "tk-root"
	mid  = "tk-mid"
	leaf = "tk-leaf"
	sub  = "tk-sub"
	gone = "tk-gone"
)

var descendants = []string{mid, leaf, sub, gone}

func depth(nm string) string { return nm + api.LabelTreeDepthSuffix }

func TestTakeoverFromHNC(t *testing.T) {
	hncBin, err := hncManagerBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo := framework.RepoRoot()
	cp, err := controlplane.Start(controlplane.Options{
		CRDDirectoryPaths: crdPaths(t, hncBin),
		WebhookPaths:      []string{filepath.Join(repo, "config", "webhook")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	c, err := client.New(cp.Config, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"canopy-system", "hnc-system"} {
		if err := controlplane.EnsureNamespace(ctx, c, ns); err != nil {
			t.Fatal(err)
		}
	}
	if err := controlplane.InstallFiles(ctx, c, filepath.Join(repo, "config", "rbac", "hnc_aggregated_roles.yaml")); err != nil {
		t.Fatal(err)
	}
	// Before the takeover the cluster runs HNC, not Canopy: Canopy's
	// webhook configurations go in only when Canopy starts.
	restoreWebhooks := removeWebhooks(t, c)

	host, port, certDir := cp.WebhookServing()
	opts := setup.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0" // StartManager picks a free probe port
	opts.WebhookHost, opts.WebhookPort, opts.WebhookCertDir = host, port, certDir
	opts.QPS, opts.Burst = 200, 400
	opts.SkipControllerNameValidation = true
	opts.Forest.ExcludedNamespaces = []string{"hnc-system"}
	env := &framework.Env{CP: cp, Client: c, Options: opts}
	adm := env.Admin(t)

	// HNC runs as its own user, so Canopy's webhooks see its leftovers as
	// written by someone else.
	hncCfg, err := cp.AddUser("hnc-controller", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	hnc := startHNC(t, hncBin, hncCfg)
	hncRunning := true
	defer func() {
		if hncRunning {
			hnc.stop()
			t.Logf("HNC's log:\n%s", hnc.log.String())
		}
	}()

	buildWithHNC(t, adm)
	waitForHNC(t, adm, hnc)
	copies := copyUIDs(t, adm)
	installHNCWebhooks(t, c, hncBin)
	// The guide: scale HNC's controller to zero, delete its webhook
	// configurations, install Canopy with --excluded-namespace=hnc-system.
	hnc.stop()
	hncRunning = false
	removeHNCWebhooks(t, adm)

	restoreWebhooks()
	if err := env.StartManager(opts); err != nil {
		t.Fatalf("starting Canopy: %v", err)
	}
	defer env.StopManager()

	t.Run("tree labels intact", func(t *testing.T) {
		waitLabels(t, adm, leaf, map[string]string{depth(root): "2", depth(mid): "1", depth(leaf): "0", forest.LabelInTree: "true"})
		waitLabels(t, adm, sub, map[string]string{depth(root): "2", depth(mid): "1", depth(sub): "0", forest.LabelInTree: "true"})
		for _, ns := range []string{root, mid, leaf, sub, gone} {
			framework.Eventually(t, timeout, func(ctx context.Context) error {
				hc := &api.HierarchyConfiguration{}
				if err := adm.Get(ctx, client.ObjectKey{Namespace: ns, Name: api.Singleton}, hc); err != nil {
					return err
				}
				if len(hc.Status.Conditions) > 0 {
					return fmt.Errorf("%s's HierarchyConfiguration has conditions %+v", ns, hc.Status.Conditions)
				}
				return nil
			})
		}
	})

	t.Run("anchors Ok", func(t *testing.T) {
		for _, a := range []types.NamespacedName{{Namespace: mid, Name: sub}, {Namespace: root, Name: gone}} {
			waitAnchor(t, adm, a, api.Ok)
		}
	})

	t.Run("propagated copies adopted in place", func(t *testing.T) {
		// A namespace that joins after the takeover gets its copies from
		// Canopy, which proves propagation has run over the adopted tree.
		mustCreate(t, adm, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: leaf, Name: "tk-new"}})
		waitAnchor(t, adm, types.NamespacedName{Namespace: leaf, Name: "tk-new"}, api.Ok)
		waitLabels(t, adm, "tk-new", map[string]string{depth(root): "3", depth(mid): "2", depth(leaf): "1", depth("tk-new"): "0", forest.LabelInTree: "true"})
		for _, obj := range sources() {
			waitCopy(t, adm, obj, "tk-new", func(client.Object) error { return nil })
		}
		// HNC's copies are still the same objects: neither deleted and
		// recreated nor reported as conflicts.
		if now := copyUIDs(t, adm); !maps.Equal(now, copies) {
			t.Errorf("propagated copies changed identity after the takeover:\nbefore %v\nafter  %v", copies, now)
		}
		assertNoConflictEvents(t, adm)

		// A changed source reaches HNC's copies.
		update(t, adm, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: "tk-reader"}}, func(r *rbacv1.Role) {
			r.Rules[0].Verbs = append(r.Rules[0].Verbs, "watch")
		})
		update(t, adm, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: "tk-settings"}}, func(cm *corev1.ConfigMap) {
			cm.Data["tier"] = "gold"
		})
		for _, ns := range append([]string{"tk-new"}, descendants...) {
			waitCopy(t, adm, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "tk-reader"}}, ns, func(o client.Object) error {
				if v := o.(*rbacv1.Role).Rules[0].Verbs; !strings.Contains(strings.Join(v, ","), "watch") {
					return fmt.Errorf("Role copy in %s has verbs %v, want watch too", ns, v)
				}
				return nil
			})
			waitCopy(t, adm, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tk-settings"}}, ns, func(o client.Object) error {
				if v := o.(*corev1.ConfigMap).Data["tier"]; v != "gold" {
					return fmt.Errorf("ConfigMap copy in %s has tier %q, want gold", ns, v)
				}
				return nil
			})
		}
		if now := copyUIDs(t, adm); !maps.Equal(now, copies) {
			t.Errorf("updating the sources replaced HNC's copies instead of updating them:\nbefore %v\nafter  %v", copies, now)
		}
		// Copies stay protected: a user may not edit one.
		cm := &corev1.ConfigMap{}
		if err := adm.Get(ctx, client.ObjectKey{Namespace: leaf, Name: "tk-settings"}, cm); err != nil {
			t.Fatal(err)
		}
		cm.Data["tier"] = "forged"
		if err := adm.Update(ctx, cm); err == nil {
			t.Errorf("editing HNC's propagated ConfigMap copy in %s was allowed", leaf)
		}
	})

	t.Run("tree labels maintained", func(t *testing.T) {
		// Move tk-leaf (with tk-new below it) from tk-mid to tk-root.
		update(t, adm, &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: leaf, Name: api.Singleton}}, func(hc *api.HierarchyConfiguration) {
			hc.Spec.Parent = root
		})
		waitLabels(t, adm, leaf, map[string]string{depth(root): "1", depth(leaf): "0", forest.LabelInTree: "true"})
		waitLabels(t, adm, "tk-new", map[string]string{depth(root): "2", depth(leaf): "1", depth("tk-new"): "0", forest.LabelInTree: "true"})
		// Users may not forge tree labels on HNC's namespaces.
		ns := &corev1.Namespace{}
		if err := adm.Get(ctx, client.ObjectKey{Name: sub}, ns); err != nil {
			t.Fatal(err)
		}
		ns.Labels[depth(sub)] = "5"
		if err := adm.Update(ctx, ns); err == nil {
			t.Errorf("forging a tree label on %s was allowed", sub)
		}
	})

	t.Run("HRQ enforced", func(t *testing.T) {
		// HNC's singletons limited each namespace to 2 pods on its own;
		// Canopy enforces the limit across the whole tree.
		for _, ns := range []string{mid, sub, leaf} {
			waitSingleton(t, adm, ns)
		}
		mustCreate(t, adm, pod(mid, "p1"))
		mustCreate(t, adm, pod(sub, "p2"))
		framework.Eventually(t, timeout, func(ctx context.Context) error {
			err := adm.Create(ctx, pod(leaf, "p3"))
			if err == nil {
				return fatalf(t, "a third pod in %s's tree was admitted past the HRQ's pods=2", root)
			}
			if !strings.Contains(err.Error(), "exceeded quota") {
				return fmt.Errorf("third pod refused for another reason: %w", err)
			}
			return nil
		})
		framework.Eventually(t, timeout, func(ctx context.Context) error {
			h := &api.HierarchicalResourceQuota{}
			if err := adm.Get(ctx, client.ObjectKey{Namespace: root, Name: "tk-pods"}, h); err != nil {
				return err
			}
			if used := h.Status.Used[corev1.ResourcePods]; used.Cmp(resource.MustParse("2")) != 0 {
				return fmt.Errorf("HRQ status.used.pods is %s, want 2", used.String())
			}
			return nil
		})
	})

	t.Run("deleting an anchor deletes its subnamespace", func(t *testing.T) {
		a := &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: gone}}
		if err := adm.Delete(ctx, a); err != nil {
			t.Fatalf("deleting anchor %s/%s: %v", root, gone, err)
		}
		framework.Eventually(t, timeout, func(ctx context.Context) error {
			ns := &corev1.Namespace{}
			err := adm.Get(ctx, client.ObjectKey{Name: gone}, ns)
			if apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil) {
				return nil
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("namespace %s still exists and is not being deleted", gone)
		})
		framework.Eventually(t, timeout, func(ctx context.Context) error {
			err := adm.Get(ctx, client.ObjectKeyFromObject(a), a)
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("anchor %s/%s still exists (finalizers %v): %v", root, gone, a.Finalizers, err)
		})
	})

	t.Run("hnc-system excluded", func(t *testing.T) { assertHNCSystemExcluded(t, adm) })

	t.Run("rollback to HNC", func(t *testing.T) { rollBackToHNC(t, env, c, adm, hncBin, hncCfg) })
}

// removeWebhooks deletes Canopy's webhook configurations and returns a
// function that puts them back.
func removeWebhooks(t *testing.T, c client.Client) func() {
	t.Helper()
	ctx := context.Background()
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	objs := []client.Object{vwc, mwc}
	names := []string{"canopy-validating", "canopy-mutating"}
	for i, o := range objs {
		if err := c.Get(ctx, client.ObjectKey{Name: names[i]}, o); err != nil {
			t.Fatalf("reading webhook configuration %s: %v", names[i], err)
		}
		if err := c.Delete(ctx, o); err != nil {
			t.Fatalf("removing webhook configuration %s: %v", names[i], err)
		}
	}
	return func() {
		t.Helper()
		for _, o := range objs {
			o.SetResourceVersion("")
			o.SetUID("")
			o.SetManagedFields(nil)
			o.SetCreationTimestamp(metav1.Time{})
			if err := c.Create(ctx, o); err != nil {
				t.Fatalf("installing webhook configuration %s: %v", o.GetName(), err)
			}
		}
	}
}

// buildWithHNC writes what an HNC user would: namespaces with parents,
// subnamespace anchors, a configured type, sources to propagate, and an HRQ.
func buildWithHNC(t *testing.T, adm client.Client) {
	t.Helper()
	for _, ns := range []string{root, mid, leaf} {
		mustCreate(t, adm, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	for child, parent := range map[string]string{mid: root, leaf: mid} {
		hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: child, Name: api.Singleton}}
		hc.Spec.Parent = parent
		mustCreate(t, adm, hc)
	}
	mustCreate(t, adm, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: mid, Name: sub}})
	mustCreate(t, adm, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: gone}})

	// HNC creates its HNCConfiguration when it starts; add ConfigMaps.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		cfg := &api.HNCConfiguration{}
		err := adm.Get(ctx, client.ObjectKey{Name: api.HNCConfigSingleton}, cfg)
		if apierrors.IsNotFound(err) {
			cfg.Name = api.HNCConfigSingleton
			cfg.Spec.Resources = []api.ResourceSpec{{Group: "", Resource: "configmaps", Mode: api.Propagate}}
			return adm.Create(ctx, cfg)
		}
		if err != nil {
			return err
		}
		cfg.Spec.Resources = append(cfg.Spec.Resources, api.ResourceSpec{Group: "", Resource: "configmaps", Mode: api.Propagate})
		return adm.Update(ctx, cfg)
	})
	for _, obj := range sources() {
		obj.SetNamespace(root)
		mustCreate(t, adm, obj)
	}
	mustCreate(t, adm, &api.HierarchicalResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: root, Name: "tk-pods"},
		Spec:       api.HierarchicalResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("2")}},
	})
}

// sources returns fresh copies of the objects created in tk-root.
func sources() []client.Object {
	return []client.Object{
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "tk-reader"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "tk-readers"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "tk-reader"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "team-a"}},
		},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tk-settings"}, Data: map[string]string{"tier": "silver"}},
	}
}

// waitForHNC waits until HNC has done its part: tree labels, subnamespaces
// with anchors Ok, propagated copies, and ResourceQuota singletons for the
// HRQ.
func waitForHNC(t *testing.T, adm client.Client, hnc *hncProcess) {
	t.Helper()
	check := func(f func(ctx context.Context) error) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			if err := hnc.exitedEarly(); err != nil {
				return fatalf(t, "%v", err)
			}
			return f(ctx)
		}
	}
	hncLabels := func(ns string, want map[string]string) {
		framework.Eventually(t, timeout, check(func(ctx context.Context) error { return hasLabels(ctx, adm, ns, want) }))
	}
	hncLabels(leaf, map[string]string{depth(root): "2", depth(mid): "1", depth(leaf): "0"})
	hncLabels(sub, map[string]string{depth(root): "2", depth(mid): "1", depth(sub): "0"})
	hncLabels(gone, map[string]string{depth(root): "1", depth(gone): "0"})
	for _, a := range []types.NamespacedName{{Namespace: mid, Name: sub}, {Namespace: root, Name: gone}} {
		framework.Eventually(t, timeout, check(func(ctx context.Context) error { return anchorState(ctx, adm, a, api.Ok) }))
	}
	for _, ns := range descendants {
		for _, obj := range sources() {
			framework.Eventually(t, timeout, check(func(ctx context.Context) error { return isCopy(ctx, adm, obj, ns) }))
		}
		framework.Eventually(t, timeout, check(func(ctx context.Context) error {
			rq := &corev1.ResourceQuota{}
			if err := adm.Get(ctx, client.ObjectKey{Namespace: ns, Name: quota.UnscopedSingletonName}, rq); err != nil {
				return fmt.Errorf("HNC's ResourceQuota singleton in %s: %w", ns, err)
			}
			if _, ok := rq.Spec.Hard[corev1.ResourcePods]; !ok {
				return fmt.Errorf("HNC's ResourceQuota singleton in %s has no pods limit: %v", ns, rq.Spec.Hard)
			}
			return nil
		}))
	}
	// Not seeing Canopy's label proves the labels above are HNC's.
	ns := &corev1.Namespace{}
	if err := adm.Get(context.Background(), client.ObjectKey{Name: leaf}, ns); err != nil {
		t.Fatal(err)
	}
	if _, ok := ns.Labels[forest.LabelInTree]; ok {
		t.Fatalf("namespace %s carries %s before Canopy ran", leaf, forest.LabelInTree)
	}
}

// copyUIDs maps "kind ns/name" of every propagated copy HNC made to its UID.
func copyUIDs(t *testing.T, adm client.Client) map[string]types.UID {
	t.Helper()
	out := map[string]types.UID{}
	for _, ns := range descendants {
		for _, obj := range sources() {
			key := client.ObjectKey{Namespace: ns, Name: obj.GetName()}
			if err := adm.Get(context.Background(), key, obj); err != nil {
				t.Fatalf("reading copy %T %s: %v", obj, key, err)
			}
			out[fmt.Sprintf("%T %s", obj, key)] = obj.GetUID()
		}
	}
	return out
}

func isCopy(ctx context.Context, c client.Client, obj client.Object, ns string) error {
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, obj); err != nil {
		return fmt.Errorf("copy of %s in %s: %w", obj.GetName(), ns, err)
	}
	if got := obj.GetLabels()[api.LabelInheritedFrom]; got != root {
		return fmt.Errorf("%s in %s: label %s=%q, want %q", obj.GetName(), ns, api.LabelInheritedFrom, got, root)
	}
	return nil
}

func waitCopy(t *testing.T, c client.Client, obj client.Object, ns string, check func(client.Object) error) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		if err := isCopy(ctx, c, obj, ns); err != nil {
			return err
		}
		return check(obj)
	})
}

// assertNoConflictEvents fails if Canopy reported any of HNC's copies as a
// namespace's own object it would not overwrite.
func assertNoConflictEvents(t *testing.T, c client.Client) {
	t.Helper()
	events := &corev1.EventList{}
	if err := c.List(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if strings.Contains(e.Message, "Cannot propagate") {
			t.Errorf("conflict reported after the takeover: %s/%s: %s", e.InvolvedObject.Namespace, e.InvolvedObject.Name, e.Message)
		}
	}
}

func hasLabels(ctx context.Context, c client.Client, nm string, want map[string]string) error {
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: nm}, ns); err != nil {
		return err
	}
	got := map[string]string{}
	for k, v := range ns.Labels {
		if strings.HasSuffix(k, api.LabelTreeDepthSuffix) {
			got[k] = v
		}
	}
	if _, ok := want[forest.LabelInTree]; ok {
		got[forest.LabelInTree] = ns.Labels[forest.LabelInTree]
	}
	if !maps.Equal(got, want) {
		return fmt.Errorf("namespace %s has tree labels %v, want %v", nm, got, want)
	}
	return nil
}

func waitLabels(t *testing.T, c client.Client, nm string, want map[string]string) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error { return hasLabels(ctx, c, nm, want) })
}

func anchorState(ctx context.Context, c client.Client, key types.NamespacedName, want api.SubnamespaceAnchorState) error {
	a := &api.SubnamespaceAnchor{}
	if err := c.Get(ctx, key, a); err != nil {
		return err
	}
	if a.Status.State != want {
		return fmt.Errorf("anchor %s is %q, want %q", key, a.Status.State, want)
	}
	return nil
}

func waitAnchor(t *testing.T, c client.Client, key types.NamespacedName, want api.SubnamespaceAnchorState) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error { return anchorState(ctx, c, key, want) })
}

// waitSingleton waits until the namespace's unscoped singleton has a pods
// limit in its status (before that, quota admission refuses pods).
func waitSingleton(t *testing.T, c client.Client, ns string) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		rq := &corev1.ResourceQuota{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: quota.UnscopedSingletonName}, rq); err != nil {
			return err
		}
		if _, ok := rq.Status.Hard[corev1.ResourcePods]; !ok {
			return fmt.Errorf("singleton in %s: status.hard has no pods yet", ns)
		}
		if _, ok := rq.Status.Used[corev1.ResourcePods]; !ok {
			return fmt.Errorf("singleton in %s: status.used has no pods yet", ns)
		}
		return nil
	})
}

func mustCreate(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s/%s: %v", obj, obj.GetNamespace(), obj.GetName(), err)
	}
}

func update[T client.Object](t *testing.T, c client.Client, obj T, mutate func(T)) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		mutate(obj)
		err := c.Update(ctx, obj)
		if err != nil && !apierrors.IsConflict(err) {
			return fatalf(t, "updating %T %s: %v", obj, obj.GetName(), err)
		}
		return err
	})
}

// fatalf ends the test from inside a poll: the failure is final, not
// something to wait out.
func fatalf(t *testing.T, format string, args ...any) error {
	t.Helper()
	t.Fatalf(format, args...)
	return nil
}

// pod returns a pod that needs no node and no service-account token.
func pod(ns, name string) *corev1.Pod {
	no := false
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no,
			Containers:                   []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
}
