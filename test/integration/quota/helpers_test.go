// Package quota tests hierarchical quota on a real API server: limits at
// several depths, the strictest ancestor, delegated budgets, moves,
// deletions, scopes, manager restarts; races of 200 (or 1,000) concurrent
// pod creations against a quota admitting exactly 100, right after probe
// pods were admitted and deleted, then a refill once 20 are deleted, with
// one manager, with two replicas behind a round-robin proxy, and with a
// replica stopped in the middle of the race; and a minute of churn beside a
// plain ResourceQuota.
//
// Tests act through admin(), a cluster administrator who is not Canopy's
// manager (env.Client authenticates as the manager itself).
package quota

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const wait = 60 * time.Second

var (
	adminOnce   sync.Once
	adminClient client.Client
)

// admin is a cluster administrator who is not Canopy's manager.
func admin(t testing.TB) client.Client {
	t.Helper()
	adminOnce.Do(func() { adminClient = env.Admin(t) })
	return adminClient
}

// tree creates namespaces given as child=parent pairs ("root" with no
// "=" is a root), in order, and waits until each has its default service
// account and, when it has a parent or children, the in-tree label.
func tree(t testing.TB, specs ...string) {
	t.Helper()
	ctx := context.Background()
	c := admin(t)
	inTree := map[string]bool{}
	var names []string
	for _, s := range specs {
		ns, parent, _ := strings.Cut(s, "=")
		names = append(names, ns)
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatalf("creating namespace %q: %v", ns, err)
		}
		if parent != "" {
			if err := setParent(c, ns, parent); err != nil {
				t.Fatalf("setting parent of %q to %q: %v", ns, parent, err)
			}
			inTree[ns], inTree[parent] = true, true
		}
	}
	for _, ns := range names {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{}); err != nil {
				return fmt.Errorf("default service account in %q: %w", ns, err)
			}
			if !inTree[ns] {
				return nil
			}
			n := &corev1.Namespace{}
			if err := c.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
				return err
			}
			if n.Labels[forest.LabelInTree] != "true" {
				return fmt.Errorf("namespace %q not labelled %s yet", ns, forest.LabelInTree)
			}
			return nil
		})
	}
}

// setParent sets ns's parent, retrying conflicts with the reconciler.
func setParent(c client.Client, ns, parent string) error {
	ctx := context.Background()
	var err error
	for range 60 {
		err = framework.SetParent(ctx, c, ns, parent)
		// A manager that just (re)started refuses hierarchy changes until
		// its forest has loaded.
		// The webhook's forest may not have seen a just-created parent.
		starting := err != nil && (strings.Contains(err.Error(), "Canopy is starting") || strings.Contains(err.Error(), "does not exist"))
		if !starting {
			return err
		}
		if starting {
			<-time.After(500 * time.Millisecond)
		}
	}
	return err
}

func rl(t testing.TB, s string) corev1.ResourceList {
	t.Helper()
	l, err := quota.ParseList(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// hrq creates an HRQ and waits until every listed namespace has a
// singleton whose status the API server has filled with at least the
// resources of hard (before that, quota admission refuses the namespace's
// pods as "status unknown").
func hrq(t testing.TB, ns, name, hard string, covered ...string) {
	t.Helper()
	h := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: hncv1.HierarchicalResourceQuotaSpec{Hard: rl(t, hard)}}
	if err := admin(t).Create(context.Background(), h); err != nil {
		t.Fatalf("creating HRQ %s/%s: %v", ns, name, err)
	}
	waitSingletons(t, quota.UnscopedSingletonName, rl(t, hard), covered...)
}

// waitSingletons waits until each namespace has the named singleton with
// status.hard and status.used for every resource in names.
func waitSingletons(t testing.TB, singleton string, names corev1.ResourceList, namespaces ...string) {
	t.Helper()
	for _, ns := range namespaces {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			rq := &corev1.ResourceQuota{}
			if err := admin(t).Get(ctx, client.ObjectKey{Namespace: ns, Name: singleton}, rq); err != nil {
				return fmt.Errorf("singleton in %q: %w", ns, err)
			}
			for r := range names {
				if _, ok := rq.Status.Hard[r]; !ok {
					return fmt.Errorf("singleton in %q: status.hard has no %s yet", ns, r)
				}
				if _, ok := rq.Status.Used[r]; !ok {
					return fmt.Errorf("singleton in %q: status.used has no %s yet", ns, r)
				}
			}
			return nil
		})
	}
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

// createPod creates a pod as the administrator; call admin(t) first.
func createPod(ns, name string) error {
	return adminClient.Create(context.Background(), pod(ns, name))
}

// mustCreatePods creates pods that must be admitted.
func mustCreatePods(t testing.TB, ns string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := createPod(ns, n); err != nil {
			t.Fatalf("creating pod %s/%s: %v", ns, n, err)
		}
	}
}

// mustDeny creates a pod that must be refused by quota, with a message
// containing every fragment.
func mustDeny(t testing.TB, ns, name string, fragments ...string) {
	t.Helper()
	err := createPod(ns, name)
	if err == nil {
		t.Fatalf("pod %s/%s was admitted, want a quota denial", ns, name)
	}
	if !apierrors.IsForbidden(err) {
		t.Fatalf("pod %s/%s: %v, want Forbidden", ns, name, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("denial of %s/%s = %q, want it to contain %q", ns, name, err.Error(), f)
		}
	}
}

// waitHRQUsed waits until the HRQ's status.used of resource is want.
func waitHRQUsed(t testing.TB, ns, name string, r corev1.ResourceName, want int64) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		h := &hncv1.HierarchicalResourceQuota{}
		if err := admin(t).Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, h); err != nil {
			return err
		}
		got, ok := h.Status.Used[r]
		if !ok || got.Value() != want {
			return fmt.Errorf("HRQ %s/%s used %s = %v, want %d", ns, name, r, h.Status.Used, want)
		}
		return nil
	})
}

// countPods counts the pods in the namespaces.
func countPods(t testing.TB, namespaces ...string) int {
	t.Helper()
	n := 0
	for _, ns := range namespaces {
		var pods corev1.PodList
		if err := admin(t).List(context.Background(), &pods, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		n += len(pods.Items)
	}
	return n
}

// teamLead binds group to the admin ClusterRole in ns (Canopy propagates
// the binding to ns's descendants) and returns a client acting as user in
// group, once it may list pods in each of the namespaces.
func teamLead(t testing.TB, ns, user, group string, namespaces ...string) client.Client {
	t.Helper()
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: group},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}}}
	if err := admin(t).Create(context.Background(), rb); err != nil {
		t.Fatal(err)
	}
	c, _, err := env.UserClient(user, group)
	if err != nil {
		t.Fatal(err)
	}
	for _, nm := range namespaces {
		framework.Eventually(t, wait, func(ctx context.Context) error {
			return c.List(ctx, &corev1.PodList{}, client.InNamespace(nm))
		})
	}
	return c
}
