package propagation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/webhook/objects"
	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestConfiguredTypeModes walks Secrets and ConfigMaps through every mode.
// It changes the cluster-wide HNCConfiguration, so it resets it at the end.
func TestConfiguredTypeModes(t *testing.T) {
	defer setTypes(t)
	tree(t, [][2]string{{"md-root", ""}, {"md-child", "md-root"}, {"md-grand", "md-child"}})
	setTypes(t,
		api.ResourceSpec{Resource: "secrets", Mode: api.Propagate},
		api.ResourceSpec{Resource: "configmaps", Mode: api.AllowPropagate})

	// The manager keeps the objects webhook's rules equal to the types.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		return webhookCovers(ctx, "secrets", "configmaps", "roles", "rolebindings")
	})

	create(t, secret("md-root", "creds", nil, "s3cr3t"))
	create(t, configMap("md-root", "opt-in", map[string]string{api.AnnotationAllSelector: "true"}, "yes"))
	create(t, configMap("md-root", "not-opted", nil, "no"))
	for _, ns := range []string{"md-child", "md-grand"} {
		waitCopy(t, &corev1.Secret{}, ns, "creds", "md-root", func(o client.Object) error {
			if got := string(o.(*corev1.Secret).Data["k"]); got != "s3cr3t" {
				return fmt.Errorf("data = %q", got)
			}
			return nil
		})
		waitCopy(t, &corev1.ConfigMap{}, ns, "opt-in", "md-root", nil)
		assertAbsent(t, &corev1.ConfigMap{}, ns, "not-opted")
	}

	// Status counts sources and copies.
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		cfg := &api.HNCConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: api.HNCConfigSingleton}, cfg); err != nil {
			return err
		}
		for _, rs := range cfg.Status.Resources {
			if rs.Resource == "secrets" {
				if rs.NumPropagatedObjects == nil || *rs.NumPropagatedObjects < 2 || rs.NumSourceObjects == nil || *rs.NumSourceObjects < 1 {
					return fmt.Errorf("secrets status %+v: want >= 2 propagated and >= 1 source", rs)
				}
				return nil
			}
		}
		return fmt.Errorf("no secrets in status %+v", cfg.Status.Resources)
	})

	// Remove deletes the copies; Ignore leaves them and stops propagating.
	setTypes(t,
		api.ResourceSpec{Resource: "secrets", Mode: api.Remove},
		api.ResourceSpec{Resource: "configmaps", Mode: api.Ignore})
	for _, ns := range []string{"md-child", "md-grand"} {
		waitGone(t, &corev1.Secret{}, ns, "creds")
	}
	create(t, configMap("md-root", "after-ignore", map[string]string{api.AnnotationAllSelector: "true"}, "x"))
	create(t, role("md-root", "sync-point", nil, "get"))
	waitCopy(t, &rbacv1.Role{}, "md-grand", "sync-point", "md-root", nil)
	waitCopy(t, &corev1.ConfigMap{}, "md-grand", "opt-in", "md-root", nil)
	assertAbsent(t, &corev1.ConfigMap{}, "md-grand", "after-ignore")
}

func TestRolesMayNotBeConfigured(t *testing.T) {
	cfg := &api.HNCConfiguration{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: api.HNCConfigSingleton}, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Spec.Resources = []api.ResourceSpec{{Group: api.RBACGroup, Resource: api.RoleResource, Mode: api.Ignore}}
	if err := env.Client.Update(context.Background(), cfg); err == nil {
		t.Fatal("listing roles in HNCConfiguration was allowed")
	}
	other := &api.HNCConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
	if err := env.Client.Create(context.Background(), other); err == nil {
		t.Fatal("creating an HNCConfiguration not named config was allowed")
	}
}

func TestNeverPropagated(t *testing.T) {
	defer setTypes(t)
	tree(t, [][2]string{{"np-root", ""}, {"np-child", "np-root"}})
	setTypes(t,
		api.ResourceSpec{Resource: "secrets", Mode: api.Propagate},
		api.ResourceSpec{Resource: "configmaps", Mode: api.Propagate})
	helm := secret("np-root", "sh.helm.release.v1.app.v1", nil, "release")
	helm.Type = "helm.sh/release.v1"
	create(t, helm)
	token := secret("np-root", "token", nil, "")
	token.StringData = nil
	token.Type = corev1.SecretTypeServiceAccountToken
	token.Annotations = map[string]string{corev1.ServiceAccountNameKey: "default"}
	create(t, token)
	create(t, secret("np-root", "normal", nil, "v"))

	waitCopy(t, &corev1.Secret{}, "np-child", "normal", "np-root", nil)
	assertAbsent(t, &corev1.Secret{}, "np-child", helm.Name)
	assertAbsent(t, &corev1.Secret{}, "np-child", "token")
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		cm := &corev1.ConfigMap{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "np-child", Name: "kube-root-ca.crt"}, cm); err != nil {
			return err
		}
		if l, ok := cm.Labels[api.LabelInheritedFrom]; ok {
			return fmt.Errorf("kube-root-ca.crt in np-child was overwritten by a copy from %q", l)
		}
		return nil
	})
}

// webhookCovers checks the objects webhook's rules name every resource.
func webhookCovers(ctx context.Context, resources ...string) error {
	list := &admissionv1.ValidatingWebhookConfigurationList{}
	if err := env.Client.List(ctx, list); err != nil {
		return err
	}
	for _, vwc := range list.Items {
		for _, wh := range vwc.Webhooks {
			if wh.Name != objects.WebhookName {
				continue
			}
			var got []string
			for _, r := range wh.Rules {
				got = append(got, r.Resources...)
			}
			for _, want := range resources {
				if !slices.Contains(got, want) {
					return fmt.Errorf("objects webhook rules cover %v, want %s", got, want)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("no webhook named %s", objects.WebhookName)
}

// TestSwitchToPropagateDeniedOnConflict: with Secrets in Remove mode a
// child may hold its own Secret named like its parent's; switching the
// type to Propagate would overwrite it, so the HNCConfiguration webhook
// denies the switch and names the object.
func TestSwitchToPropagateDeniedOnConflict(t *testing.T) {
	defer setTypes(t)
	tree(t, [][2]string{{"sw-root", ""}, {"sw-child", "sw-root"}})
	setTypes(t, api.ResourceSpec{Resource: "secrets", Mode: api.Remove})
	create(t, secret("sw-root", "dup", nil, "parent's"))
	create(t, secret("sw-child", "dup", nil, "child's"))
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		cfg := &api.HNCConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: api.HNCConfigSingleton}, cfg); err != nil {
			return err
		}
		cfg.Spec.Resources = []api.ResourceSpec{{Resource: "secrets", Mode: api.Propagate}}
		err := env.Client.Update(ctx, cfg)
		if err == nil {
			// The sources were not recorded yet: undo and retry. The
			// reconciler never overwrites the child's object meanwhile.
			cfg.Spec.Resources = []api.ResourceSpec{{Resource: "secrets", Mode: api.Remove}}
			if err := env.Client.Update(ctx, cfg); err != nil {
				t.Fatalf("reverting the switch: %v", err)
			}
			return fmt.Errorf("the switch to Propagate was allowed")
		}
		if !strings.Contains(err.Error(), `"dup" in "sw-child"`) {
			return fmt.Errorf("denied without naming the conflict: %w", err)
		}
		return nil
	})
	s := &corev1.Secret{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: "sw-child", Name: "dup"}, s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data["k"]) != "child's" {
		t.Errorf("the child's secret was overwritten: %q", s.Data["k"])
	}
}

func TestUnknownTypeIsBadConfiguration(t *testing.T) {
	defer setTypes(t)
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		cfg := &api.HNCConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: api.HNCConfigSingleton}, cfg); err != nil {
			return err
		}
		cfg.Spec.Resources = []api.ResourceSpec{{Group: "x.example.com", Resource: "widgets", Mode: api.Propagate}}
		return env.Client.Update(ctx, cfg)
	})
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		cfg := &api.HNCConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: api.HNCConfigSingleton}, cfg); err != nil {
			return err
		}
		for _, c := range cfg.Status.Conditions {
			if c.Type == api.ConditionBadTypeConfiguration && c.Reason == api.ReasonResourceNotFound && strings.Contains(c.Message, "widgets.x.example.com") {
				return nil
			}
		}
		return fmt.Errorf("no ResourceNotFound condition in %+v", cfg.Status.Conditions)
	})
}
