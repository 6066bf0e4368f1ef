package propagation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// TestOptInPropagation restarts the manager with --opt-in-propagation: a
// type listed without a mode is AllowPropagate, so only annotated objects
// propagate.
func TestOptInPropagation(t *testing.T) {
	tree(t, [][2]string{{"oi-root", ""}, {"oi-child", "oi-root"}})
	original := env.Options
	optIn := env.Options
	optIn.Propagation.OptIn = true
	env.StopManager()
	if err := env.StartManager(optIn); err != nil {
		t.Fatal(err)
	}
	defer func() {
		setTypes(t)
		env.StopManager()
		if err := env.StartManager(original); err != nil {
			t.Errorf("restarting the manager: %v", err)
		}
	}()

	// Listed without a mode; the status reports the effective mode.
	setTypesExpect(t, []api.ResourceSpec{{Resource: "secrets"}}, []api.ResourceSpec{{Resource: "secrets", Mode: api.AllowPropagate}})
	create(t, secret("oi-root", "plain", nil, "p"))
	create(t, secret("oi-root", "opted-in", map[string]string{api.AnnotationAllSelector: "true"}, "o"))
	create(t, role("oi-root", "sync-point", nil, "get"))
	waitCopy(t, &corev1.Secret{}, "oi-child", "opted-in", "oi-root", nil)
	waitCopy(t, &rbacv1.Role{}, "oi-child", "sync-point", "oi-root", nil)
	assertAbsent(t, &corev1.Secret{}, "oi-child", "plain")
}
