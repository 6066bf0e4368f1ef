package quota

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// The manager runs with exactly the installation's permissions here. A
// namespace in no quota tree, so that no singleton counts its secrets,
// joins a tree whose quota limits them: the manager lists them (metadata
// only) and the join is judged on what exists, refused while it does not
// fit, allowed once it does, and the tree ends exactly full.
func TestMoveCountsSecretsAsInstalled(t *testing.T) {
	c := admin(t)
	ctx := context.Background()
	asInstalled(t)
	tree(t, "sec-x", "sec-b", "sec-b1=sec-b")
	hrq(t, "sec-b", "qb", "secrets=3", "sec-b", "sec-b1")
	mustCreateSecrets(t, "sec-x", "s1", "s2", "s3")
	mustCreateSecrets(t, "sec-b1", "s1")
	waitHRQUsed(t, "sec-b", "qb", corev1.ResourceSecrets, 1)

	err := setParent(c, "sec-x", "sec-b1")
	if err == nil || !strings.Contains(err.Error(), `HierarchicalResourceQuota "qb"`) || !strings.Contains(err.Error(), "used secrets=4") {
		t.Fatalf("joining with 3 secrets a tree with room for 2: %v, want a denial naming qb and 4 secrets", err)
	}
	waitHRQUsed(t, "sec-b", "qb", corev1.ResourceSecrets, 1)
	if err := c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "sec-x", Name: "s3"}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, func(context.Context) error { return setParent(c, "sec-x", "sec-b1") })
	waitHRQUsed(t, "sec-b", "qb", corev1.ResourceSecrets, 3)
}

// What the installed manager may not list (here a custom resource its role
// does not name), in a namespace where no singleton tracks it, is not
// judged as if there were none: the move is refused, saying what to do.
// Once a ResourceQuota there tracks it, the move is judged on that count.
func TestMoveCountsWhatTheManagerMayNotList(t *testing.T) {
	c := admin(t)
	ctx := context.Background()
	widgets(t)
	asInstalled(t)
	const count = "count/widgets.test.canopy.dev"
	tree(t, "wid-x", "wid-b", "wid-b1=wid-b")
	hrq(t, "wid-b", "qb", count+"=3", "wid-b", "wid-b1")
	mustCreateWidgets(t, "wid-x", "w1", "w2", "w3")
	mustCreateWidgets(t, "wid-b1", "w1")
	waitHRQUsed(t, "wid-b", "qb", count, 1)

	err := setParent(c, "wid-x", "wid-b1")
	if err == nil || !strings.Contains(err.Error(), `cannot count "`+count+`" in namespace "wid-x"`) {
		t.Fatalf("joining with widgets the manager cannot count: %v, want a refusal saying so", err)
	}
	t.Logf("refused: %v", err)
	waitHRQUsed(t, "wid-b", "qb", count, 1)

	// A platform admin has them tracked there.
	track := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "wid-x", Name: "track-widgets"},
		Spec: corev1.ResourceQuotaSpec{Hard: rl(t, count+"=100")}}
	if err := c.Create(ctx, track); err != nil {
		t.Fatal(err)
	}
	waitTracked := func(want int64) {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(track), track); err != nil {
				return err
			}
			if got, ok := track.Status.Used[count]; !ok || got.Value() != want {
				return fmt.Errorf("track-widgets used %v, want %s=%d", track.Status.Used, count, want)
			}
			return nil
		})
	}
	waitTracked(3)
	err = setParent(c, "wid-x", "wid-b1")
	if err == nil || !strings.Contains(err.Error(), `HierarchicalResourceQuota "qb"`) || !strings.Contains(err.Error(), "used "+count+"=4") {
		t.Fatalf("joining with 3 widgets a tree with room for 2: %v, want a denial naming qb and 4 widgets", err)
	}
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(widgetGVK)
	w.SetNamespace("wid-x")
	w.SetName("w3")
	if err := c.Delete(ctx, w); err != nil {
		t.Fatal(err)
	}
	waitTracked(2)
	framework.Eventually(t, wait, func(context.Context) error { return setParent(c, "wid-x", "wid-b1") })
	waitHRQUsed(t, "wid-b", "qb", count, 3)
}

// asInstalled restarts the manager with exactly the installation's RBAC
// (config/rbac) until the test ends.
func asInstalled(t *testing.T) {
	t.Helper()
	cfg, err := env.InstalledManagerConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	env.StopManager()
	env.ManagerConfig = cfg
	t.Cleanup(func() {
		env.StopManager()
		env.ManagerConfig = nil
		if err := env.StartManager(env.Options); err != nil {
			t.Errorf("restarting the manager with the admin's credentials: %v", err)
		}
	})
	if err := env.StartManager(env.Options); err != nil {
		t.Fatalf("starting the manager with the installation's permissions: %v", err)
	}
}

var widgetGVK = schema.GroupVersionKind{Group: "test.canopy.dev", Version: "v1", Kind: "Widget"}

// widgets installs a namespaced custom resource no role of Canopy's names.
func widgets(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "widgets.test.canopy.dev"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: widgetGVK.Group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}}}}}}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: raw}
	u.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	if err := admin(t).Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, func(ctx context.Context) error {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(widgetGVK.GroupVersion().WithKind("WidgetList"))
		return admin(t).List(ctx, l, client.InNamespace("default"))
	})
}

func mustCreateWidgets(t testing.TB, ns string, names ...string) {
	t.Helper()
	for _, n := range names {
		w := &unstructured.Unstructured{}
		w.SetGroupVersionKind(widgetGVK)
		w.SetNamespace(ns)
		w.SetName(n)
		if err := admin(t).Create(context.Background(), w); err != nil {
			t.Fatalf("creating widget %s/%s: %v", ns, n, err)
		}
	}
}

func mustCreateSecrets(t testing.TB, ns string, names ...string) {
	t.Helper()
	for _, n := range names {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n}, StringData: map[string]string{"k": "v"}}
		if err := admin(t).Create(context.Background(), s); err != nil {
			t.Fatalf("creating secret %s/%s: %v", ns, n, err)
		}
	}
}
