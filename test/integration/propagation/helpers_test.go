// Package propagation tests object propagation and HNCConfiguration on a
// real API server: Roles and RoleBindings, configured types in every mode,
// exceptions, conflicts, copy protection, halted subtrees, moves and
// adoption after a manager restart.
package propagation

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const timeout = 60 * time.Second

// tree creates the namespaces named in edges (child -> parent, "" for a
// root) and waits until every child carries its root's tree label and the
// in-tree label, so the webhooks select it.
func tree(t *testing.T, edges [][2]string) {
	t.Helper()
	ctx := context.Background()
	for _, e := range edges {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e[0]}}
		if err := env.Client.Create(ctx, ns); err != nil {
			t.Fatalf("creating namespace %s: %v", e[0], err)
		}
	}
	for _, e := range edges {
		if e[1] != "" {
			setParent(t, e[0], e[1])
		}
	}
	parents := map[string]bool{}
	for _, e := range edges {
		parents[e[1]] = true
	}
	for _, e := range edges {
		switch {
		case e[1] != "":
			waitAncestor(t, e[0], e[1])
		case parents[e[0]]:
			// A root is in-tree once it has children.
			waitAncestor(t, e[0], e[0])
		}
	}
}

// admin returns a client for a cluster-admin user other than the manager:
// the webhooks let the manager's own identity (which env.Client shares)
// do anything.
func admin(t *testing.T) client.Client {
	t.Helper()
	return env.Admin(t)
}

// setParent creates or updates the namespace's HierarchyConfiguration.
func setParent(t *testing.T, ns, parent string) {
	t.Helper()
	if err := framework.SetParent(context.Background(), env.Client, ns, parent); err != nil {
		t.Fatalf("setting parent of %s to %q: %v", ns, parent, err)
	}
}

// waitAncestor waits until ns carries ancestor's tree label and in-tree.
func waitAncestor(t *testing.T, ns, ancestor string) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		if _, ok := n.Labels[ancestor+api.LabelTreeDepthSuffix]; !ok {
			return fmt.Errorf("namespace %s has no tree label for %s: %v", ns, ancestor, n.Labels)
		}
		if n.Labels[forest.LabelInTree] != "true" {
			return fmt.Errorf("namespace %s is not labelled in-tree", ns)
		}
		return nil
	})
}

func role(ns, name string, annots map[string]string, verbs ...string) *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annots},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: verbs}},
	}
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %T %s/%s: %v", obj, obj.GetNamespace(), obj.GetName(), err)
	}
}

// waitCopy waits until ns holds a copy of name inherited from src that
// passes check (nil: any copy).
func waitCopy(t *testing.T, obj client.Object, ns, name, src string, check func(client.Object) error) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			return err
		}
		if got := obj.GetLabels()[api.LabelInheritedFrom]; got != src {
			return fmt.Errorf("%s/%s inherited-from = %q, want %q", ns, name, got, src)
		}
		if got := obj.GetLabels()[api.LabelManagedByApps]; got != api.MetaGroup {
			return fmt.Errorf("%s/%s managed-by = %q, want %q", ns, name, got, api.MetaGroup)
		}
		if check != nil {
			return check(obj)
		}
		return nil
	})
}

// waitGone waits until ns has no object of that name.
func waitGone(t *testing.T, obj client.Object, ns, name string) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("%s/%s still exists (labels %v)", ns, name, obj.GetLabels())
	})
}

// assertAbsent checks, once, that ns holds no object of that name. Call it
// only after a positive sync point showed propagation has run.
func assertAbsent(t *testing.T, obj client.Object, ns, name string) {
	t.Helper()
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj)
	if !apierrors.IsNotFound(err) {
		t.Errorf("%s/%s: want NotFound, got err=%v labels=%v", ns, name, err, obj.GetLabels())
	}
}

// setTypes replaces HNCConfiguration's spec.resources and waits until its
// status reports every listed type in its mode.
func setTypes(t *testing.T, resources ...api.ResourceSpec) {
	t.Helper()
	setTypesExpect(t, resources, resources)
}

// setTypesExpect sets spec.resources and waits for status to report want.
func setTypesExpect(t *testing.T, resources, want []api.ResourceSpec) {
	t.Helper()
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		cfg := &api.HNCConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: api.HNCConfigSingleton}, cfg); err != nil {
			return err
		}
		cfg.Spec.Resources = resources
		return env.Client.Update(ctx, cfg)
	})
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		cfg := &api.HNCConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: api.HNCConfigSingleton}, cfg); err != nil {
			return err
		}
		for _, want := range want {
			found := false
			for _, got := range cfg.Status.Resources {
				found = found || (got.Group == want.Group && got.Resource == want.Resource && got.Mode == want.Mode)
			}
			if !found && want.Mode != api.Ignore {
				return fmt.Errorf("status.resources %+v lacks %s/%s in mode %s", cfg.Status.Resources, want.Group, want.Resource, want.Mode)
			}
		}
		return nil
	})
}

func secret(ns, name string, annots map[string]string, value string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annots},
		StringData: map[string]string{"k": value},
	}
}

func configMap(ns, name string, annots map[string]string, value string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annots},
		Data:       map[string]string{"k": value},
	}
}
