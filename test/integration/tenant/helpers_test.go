// Package tenant tests the Tenant controller and webhooks on a real API
// server, acting as real users: the platform team (a cluster admin who is
// not Canopy's manager) writes Tenants, and team leads act through the
// bindings the Tenant generated for them.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kwait "k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const wait = 60 * time.Second

var (
	platformOnce sync.Once
	platform     client.Client
	platformErr  error
)

// admin is the platform team: a cluster admin who is not the manager.
func admin(t *testing.T) client.Client {
	t.Helper()
	platformOnce.Do(func() {
		platform = env.Admin(t)
		platformErr = aggregateHNCVerbs()
	})
	if platformErr != nil {
		t.Fatal(platformErr)
	}
	return platform
}

// aggregateHNCVerbs waits until kube-controller-manager's ClusterRole
// aggregation controller has folded HNC's verbs (config/rbac, installed by
// the framework as a deployment installs it) into the admin ClusterRole, so
// owners can create anchors and quotas.
func aggregateHNCVerbs() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return kwait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		admin := &rbacv1.ClusterRole{}
		if err := platform.Get(ctx, client.ObjectKey{Name: "admin"}, admin); err != nil {
			return false, nil
		}
		for _, r := range admin.Rules {
			if slices.Contains(r.APIGroups, "hnc.x-k8s.io") && slices.Contains(r.Resources, "subnamespaceanchors") {
				return true, nil
			}
		}
		return false, nil
	})
}

// lead returns a client for a team lead in group.
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

func createTenant(t *testing.T, tn *tenancyv1.Tenant) {
	t.Helper()
	c := admin(t)
	eventually(t, wait, func(ctx context.Context) error {
		// The webhooks deny until the forest has loaded.
		return client.IgnoreAlreadyExists(c.Create(ctx, tn.DeepCopy()))
	})
}

func getTenant(ctx context.Context, name string) (*tenancyv1.Tenant, error) {
	tn := &tenancyv1.Tenant{}
	err := env.Client.Get(ctx, client.ObjectKey{Name: name}, tn)
	return tn, err
}

// updateTenant applies mutate to the latest Tenant as the platform team,
// retrying conflicts with the controller's writes.
func updateTenant(t *testing.T, name string, mutate func(*tenancyv1.Tenant)) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		tn, err := getTenant(ctx, name)
		if err != nil {
			return err
		}
		mutate(tn)
		return admin(t).Update(ctx, tn)
	})
}

// waitCondition waits until the tenant's condition has status and a
// message containing msg.
func waitCondition(t *testing.T, name, typ string, status metav1.ConditionStatus, msg string) *tenancyv1.Tenant {
	t.Helper()
	var tn *tenancyv1.Tenant
	eventually(t, wait, func(ctx context.Context) error {
		var err error
		if tn, err = getTenant(ctx, name); err != nil {
			return err
		}
		c := meta.FindStatusCondition(tn.Status.Conditions, typ)
		if c == nil || c.Status != status || !strings.Contains(c.Message, msg) || c.ObservedGeneration != tn.Generation {
			return fmt.Errorf("condition %s = %+v, want %s with %q at generation %d", typ, c, status, msg, tn.Generation)
		}
		return nil
	})
	return tn
}

func waitReady(t *testing.T, name string) *tenancyv1.Tenant {
	t.Helper()
	return waitCondition(t, name, tenancyv1.ConditionReady, metav1.ConditionTrue, "")
}

// waitObject waits until obj (namespace/name) exists and check passes.
func waitObject(t *testing.T, obj client.Object, ns, name string, check func() error) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			return err
		}
		if check != nil {
			return check()
		}
		return nil
	})
}

// waitGone waits until obj (namespace/name) no longer exists.
func waitGone(t *testing.T, obj client.Object, ns, name string) {
	t.Helper()
	eventually(t, wait, func(ctx context.Context) error {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("%T %s/%s still exists", obj, ns, name)
		}
		return err
	})
}

// waitNamespaceLabel waits until namespace ns has label key=value ("" for
// absent).
func waitNamespaceLabel(t *testing.T, ns, key, value string) {
	t.Helper()
	n := &corev1.Namespace{}
	waitObject(t, n, "", ns, func() error {
		if got, ok := n.Labels[key]; got != value || (value == "" && ok) {
			return fmt.Errorf("namespace %s label %s = %q, want %q", ns, key, got, value)
		}
		return nil
	})
}

// waitOpen waits until the guardrails gate of tenant namespace ns is open
// (its guardrails are in place): until then workloads are refused there.
func waitOpen(t *testing.T, ns string) {
	t.Helper()
	n := &corev1.Namespace{}
	waitObject(t, n, "", ns, func() error {
		if _, ok := n.Annotations[tenantctrl.AnnotationGuardrailsPending]; ok {
			return fmt.Errorf("namespace %s is still gated", ns)
		}
		return nil
	})
}

// expectDenied asserts err is a denial whose message contains every want.
func expectDenied(t *testing.T, what string, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: allowed, want denied", what)
	}
	if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
		var se *apierrors.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q lacks %q", what, err.Error(), w)
		}
	}
}

func pod(ns, name, image string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// deletePod removes a pod at once (it is never scheduled: no nodes).
func deletePod(t *testing.T, ns, name string) {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := env.Client.Delete(context.Background(), p, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	waitGone(t, &corev1.Pod{}, ns, name)
}

func findCondition(tn *tenancyv1.Tenant, typ string) *metav1.Condition {
	return meta.FindStatusCondition(tn.Status.Conditions, typ)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// eventually is framework.Eventually, reporting the last error that was
// not the deadline itself (the client's rate limiter fails the last poll).
func eventually(t *testing.T, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	var real error
	framework.Eventually(t, timeout, func(ctx context.Context) error {
		err := check(ctx)
		if err != nil && ctx.Err() == nil && !strings.Contains(err.Error(), "rate limiter") {
			real = err
		}
		if err != nil && real != nil {
			return real
		}
		return err
	})
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func unstructuredObj(m map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: m}
}

// samples decodes config/samples/tenants.yaml.
func samples(t *testing.T) []*tenancyv1.Tenant {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "samples", "tenants.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*tenancyv1.Tenant
	for _, doc := range strings.Split(string(data), "\n---") {
		tn := &tenancyv1.Tenant{}
		if err := yaml.Unmarshal([]byte(doc), tn); err != nil {
			t.Fatalf("decoding sample: %v", err)
		}
		if tn.Name != "" {
			out = append(out, tn)
		}
	}
	if len(out) != 2 {
		t.Fatalf("found %d sample tenants, want 2", len(out))
	}
	return out
}
