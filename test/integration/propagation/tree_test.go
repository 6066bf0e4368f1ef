package propagation

import (
	"context"
	"fmt"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/controller/propagation"
	"github.com/canopyhq/canopy/internal/webhook/objects"
	"github.com/canopyhq/canopy/test/integration/framework"
)

func TestHaltedSubtreeGetsNothing(t *testing.T) {
	ctx := context.Background()
	tree(t, [][2]string{{"ht-ghost", ""}, {"ht-a", "ht-ghost"}, {"ht-b", "ht-a"}, {"ht-ok", ""}, {"ht-ok-child", "ht-ok"}})
	// Deleting the parent halts ht-a (ParentMissing) and its subtree.
	if err := env.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ht-ghost"}}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		hc := &api.HierarchyConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "ht-b", Name: api.Singleton}, hc); err != nil {
			return err
		}
		for _, c := range hc.Status.Conditions {
			if c.Type == api.ConditionActivitiesHalted {
				return nil
			}
		}
		return fmt.Errorf("ht-b is not halted: %+v", hc.Status.Conditions)
	})
	create(t, role("ht-a", "halted-role", nil, "get"))
	create(t, role("ht-ok", "healthy-role", nil, "get"))
	waitCopy(t, &rbacv1.Role{}, "ht-ok-child", "healthy-role", "ht-ok", nil)
	assertAbsent(t, &rbacv1.Role{}, "ht-b", "halted-role")

	// Once ht-a is a root again, the subtree catches up.
	setParent(t, "ht-a", "")
	waitCopy(t, &rbacv1.Role{}, "ht-b", "halted-role", "ht-a", nil)
}

func TestMovedSubtreeSwapsAncestorsObjects(t *testing.T) {
	tree(t, [][2]string{{"mv-old", ""}, {"mv-new", ""}, {"mv-m", "mv-old"}, {"mv-mc", "mv-m"}, {"mv-stay", "mv-old"}})
	create(t, role("mv-old", "from-old", nil, "get"))
	create(t, role("mv-new", "from-new", nil, "get"))
	create(t, role("mv-new", "sibling-check", nil, "get"))
	for _, ns := range []string{"mv-m", "mv-mc"} {
		waitCopy(t, &rbacv1.Role{}, ns, "from-old", "mv-old", nil)
	}
	setParent(t, "mv-m", "mv-new")
	for _, ns := range []string{"mv-m", "mv-mc"} {
		waitCopy(t, &rbacv1.Role{}, ns, "from-new", "mv-new", nil)
		waitGone(t, &rbacv1.Role{}, ns, "from-old")
	}
	// The namespace that did not move keeps its copy.
	waitCopy(t, &rbacv1.Role{}, "mv-stay", "from-old", "mv-old", nil)
}

// TestAdoption stops the manager, changes sources and copies behind its
// back, and checks that a new manager puts everything right. With the
// manager down the fail-closed objects webhook would refuse these writes,
// as it should; the test sets its failurePolicy to Ignore meanwhile, as a
// cluster that has just replaced HNC has no Canopy webhook yet.
func TestAdoption(t *testing.T) {
	ctx := context.Background()
	tree(t, [][2]string{{"ad-root", ""}, {"ad-child", "ad-root"}, {"ad-grand", "ad-child"}})
	create(t, role("ad-root", "old-source", nil, "get"))
	create(t, role("ad-root", "tampered", nil, "get"))
	waitCopy(t, &rbacv1.Role{}, "ad-grand", "old-source", "ad-root", nil)
	waitCopy(t, &rbacv1.Role{}, "ad-grand", "tampered", "ad-root", nil)

	restart := stopManager(t)
	// The API server picks up the new failure policy shortly.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		return env.Client.Create(ctx, role("ad-root", "new-source", nil, "get"))
	})
	if err := env.Client.Delete(ctx, role("ad-root", "old-source", nil)); err != nil {
		t.Fatal(err)
	}
	// A conflict the webhook would have denied: the child's own object
	// and a source of the same name above it.
	create(t, role("ad-child", "clash", nil, "list"))
	create(t, role("ad-root", "clash", nil, "get"))
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		r := &rbacv1.Role{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "ad-grand", Name: "tampered"}, r); err != nil {
			return err
		}
		r.Rules[0].Verbs = []string{"*"}
		return env.Client.Update(ctx, r)
	}); err != nil {
		t.Fatal(err)
	}

	restart()
	for _, ns := range []string{"ad-child", "ad-grand"} {
		waitCopy(t, &rbacv1.Role{}, ns, "new-source", "ad-root", nil)
		waitGone(t, &rbacv1.Role{}, ns, "old-source")
	}
	// The child's own object is never overwritten; the source is told.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		return hasEvent(ctx, "ad-root", "clash", propagation.EventCannotPropagate)
	})
	own := &rbacv1.Role{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "ad-child", Name: "clash"}, own); err != nil {
		t.Fatal(err)
	}
	if _, ok := own.Labels[api.LabelInheritedFrom]; ok || own.Rules[0].Verbs[0] != "list" {
		t.Errorf("the child's own role was overwritten: %+v", own)
	}
	waitCopy(t, &rbacv1.Role{}, "ad-grand", "clash", "ad-root", nil)
	waitCopy(t, &rbacv1.Role{}, "ad-grand", "tampered", "ad-root", func(o client.Object) error {
		if v := o.(*rbacv1.Role).Rules[0].Verbs; len(v) != 1 || v[0] != "get" {
			return fmt.Errorf("tampered copy still has verbs %v", v)
		}
		return nil
	})
}

// stopManager stops the manager and lets the objects webhook fail open, so
// sources can change as they would while no manager runs. The returned
// function restarts the manager; either way the failure policy is restored
// (Fail) and the manager runs again when the test ends.
func stopManager(t *testing.T) (restart func()) {
	t.Helper()
	env.StopManager()
	restore := setObjectsFailurePolicy(t, admissionv1.Ignore)
	started := false
	t.Cleanup(func() {
		restore()
		if !started {
			if err := env.StartManager(env.Options); err != nil {
				t.Errorf("restarting the manager: %v", err)
			}
		}
	})
	return func() {
		t.Helper()
		if err := env.StartManager(env.Options); err != nil {
			t.Fatal(err)
		}
		started = true
	}
}

// setObjectsFailurePolicy sets the objects webhook's failurePolicy and
// returns a function that restores Fail.
func setObjectsFailurePolicy(t *testing.T, p admissionv1.FailurePolicyType) func() {
	t.Helper()
	set := func(p admissionv1.FailurePolicyType) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			list := &admissionv1.ValidatingWebhookConfigurationList{}
			if err := env.Client.List(context.Background(), list); err != nil {
				return err
			}
			for i := range list.Items {
				vwc := &list.Items[i]
				for j := range vwc.Webhooks {
					if vwc.Webhooks[j].Name == objects.WebhookName {
						vwc.Webhooks[j].FailurePolicy = &p
						return env.Client.Update(context.Background(), vwc)
					}
				}
			}
			return fmt.Errorf("no webhook %s", objects.WebhookName)
		})
	}
	if err := set(p); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := set(admissionv1.Fail); err != nil {
			t.Errorf("restoring the failure policy: %v", err)
		}
	}
}
