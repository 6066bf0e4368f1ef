// Package isolation tests, on a real API server, that a team lead cannot
// destroy what the platform team declared nor leave their tenant's tree
// (issue 11). Every attempt is made as the lead would make it: alice in
// group <tenant>-leads, acting through the access the Tenant generated.
package isolation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kwait "k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const wait = 60 * time.Second

var (
	aggregateOnce sync.Once
	aggregateErr  error
)

// admin is the platform team: a cluster admin who is not the manager. The
// first call waits until kube-controller-manager has aggregated HNC's
// verbs into the admin ClusterRole, so owners can write anchors.
func admin(t *testing.T) client.Client {
	t.Helper()
	c := env.Admin(t)
	aggregateOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		aggregateErr = kwait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			cr := &rbacv1.ClusterRole{}
			if err := c.Get(ctx, client.ObjectKey{Name: "admin"}, cr); err != nil {
				return false, nil
			}
			for _, r := range cr.Rules {
				if slices.Contains(r.APIGroups, hncv1.MetaGroup) && slices.Contains(r.Resources, "hierarchyconfigurations") {
					return true, nil
				}
			}
			return false, nil
		})
	})
	if aggregateErr != nil {
		t.Fatalf("waiting for HNC's verbs in the admin ClusterRole: %v", aggregateErr)
	}
	return c
}

// lead returns a client acting as user name in group.
func lead(t *testing.T, name, group string) client.Client {
	t.Helper()
	c, _, err := env.UserClient(name, group)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func group(name string) rbacv1.Subject {
	return rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: name}
}

// tenant creates a Tenant owned by group <name>-leads declaring namespaces
// (each "child" or "parent/child") and waits until every namespace
// carries the tenant label and the owners' binding reached it.
func tenant(t *testing.T, name string, mutate func(*tenancyv1.Tenant), namespaces ...string) *tenancyv1.Tenant {
	t.Helper()
	tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1.TenantSpec{
		Owners: []rbacv1.Subject{group(name + "-leads")},
	}}
	all := []string{name}
	for _, n := range namespaces {
		parent, child, ok := strings.Cut(n, "/")
		if !ok {
			parent, child = "", n
		}
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1.TenantNamespace{Name: child, Parent: parent})
		all = append(all, child)
	}
	if mutate != nil {
		mutate(tn)
	}
	c := admin(t)
	eventually(t, wait, func(ctx context.Context) error {
		return client.IgnoreAlreadyExists(c.Create(ctx, tn.DeepCopy()))
	})
	for _, n := range all {
		waitLabel(t, n, tenancyv1.LabelTenant, name)
		waitOpen(t, n)
		eventually(t, wait, func(ctx context.Context) error {
			rbs := &rbacv1.RoleBindingList{}
			if err := env.Client.List(ctx, rbs, client.InNamespace(n)); err != nil {
				return err
			}
			for _, rb := range rbs.Items {
				if slices.Contains(rb.Subjects, group(name+"-leads")) {
					return nil
				}
			}
			return fmt.Errorf("no binding for %s-leads in %s yet", name, n)
		})
	}
	return tn
}

// waitLabel waits until namespace ns has label key=value.
func waitLabel(t *testing.T, ns, key, value string) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		if n.Labels[key] != value {
			return fmt.Errorf("namespace %s label %s = %q, want %q", ns, key, n.Labels[key], value)
		}
		return nil
	})
}

// waitOpen waits until the guardrails gate of tenant namespace ns is open.
func waitOpen(t *testing.T, ns string) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
			return err
		}
		if _, ok := n.Annotations[tenantctrl.AnnotationGuardrailsPending]; ok {
			return fmt.Errorf("namespace %s is still gated", ns)
		}
		return nil
	})
}

// hierarchy returns the HierarchyConfiguration of ns, once it exists.
func hierarchy(t *testing.T, c client.Client, ns string) *hncv1.HierarchyConfiguration {
	t.Helper()
	hc := &hncv1.HierarchyConfiguration{}
	eventually(t, wait, func(ctx context.Context) error {
		return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: hncv1.Singleton}, hc)
	})
	return hc
}

// expectDenied asserts err is an admission denial whose message contains
// every want.
func expectDenied(t *testing.T, what string, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: allowed, want denied", what)
		return
	}
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		t.Errorf("%s: unexpected error %v", what, err)
		return
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q lacks %q", what, err.Error(), w)
		}
	}
}

// stillThere asserts namespace ns exists and is not being deleted.
func stillThere(t *testing.T, ns string) {
	t.Helper()
	n := &corev1.Namespace{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: ns}, n); err != nil {
		t.Errorf("namespace %s: %v", ns, err)
		return
	}
	if n.DeletionTimestamp != nil {
		t.Errorf("namespace %s is being deleted", ns)
	}
}

// waitGone waits until namespace ns no longer exists.
func waitGone(t *testing.T, ns string) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("namespace %s still exists", ns)
		}
		return err
	})
}

// eventually is framework.Eventually.
func eventually(t *testing.T, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	framework.Eventually(t, timeout, check)
}
