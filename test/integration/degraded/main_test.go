// Package degraded measures Canopy's degraded mode on a real control plane:
// it builds small trees (plain subnamespaces, a HierarchicalResourceQuota,
// propagated RBAC, a Tenant), stops the manager so that every webhook call
// is refused at the TCP level, and checks that exactly what the README's
// "Degraded mode" list denies is denied, that everything it allows is
// allowed, that 100 namespaces outside Canopy's trees are created and
// deleted as if Canopy were not installed, and that once the manager is back
// the trees are intact.
//
// The rows in rows_test.go are the README's list: each row names the bullet
// it measures, and TestReadmeListMatchesRows fails when a bullet has no row
// or a row names no bullet.
package degraded

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kwait "k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/test/integration/framework"
)

var env *framework.Env

func TestMain(m *testing.M) { framework.Main(m, &env) }

const wait = 60 * time.Second

// webhookRefused checks that nothing listens on the webhook address the API
// server calls, so every webhook call fails with "connection refused".
func webhookRefused(t *testing.T) {
	t.Helper()
	addr := net.JoinHostPort(env.Options.WebhookHost, strconv.Itoa(env.Options.WebhookPort))
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("something still listens on the webhook address %s", addr)
	}
}

// waitNamespace waits until namespace nm exists, has its default service
// account and carries canopy.dev/in-tree=inTree ("" for absent).
func waitNamespace(t *testing.T, c client.Client, nm, inTree string) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		ns := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: nm}, ns); err != nil {
			return err
		}
		if got := ns.Labels[forest.LabelInTree]; got != inTree {
			return fmt.Errorf("namespace %s: %s=%q, want %q", nm, forest.LabelInTree, got, inTree)
		}
		return c.Get(ctx, client.ObjectKey{Namespace: nm, Name: "default"}, &corev1.ServiceAccount{})
	})
}

// waitGone waits until obj no longer exists.
func waitGone(t *testing.T, c client.Client, obj client.Object, timeout time.Duration) {
	t.Helper()
	if err := pollGone(context.Background(), c, obj, timeout); err != nil {
		t.Fatal(err)
	}
}

// pollGone polls until obj no longer exists, or returns why it still does
// after timeout.
func pollGone(ctx context.Context, c client.Client, obj client.Object, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := fmt.Errorf("%T %s not checked", obj, client.ObjectKeyFromObject(obj))
	_ = kwait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		err := gone(ctx, c, obj)
		// Keep the last answer from the API server, not the client
		// giving up at the deadline.
		if err == nil || (ctx.Err() == nil && !strings.Contains(err.Error(), "rate limiter")) {
			last = err
		}
		return err == nil, nil
	})
	if last != nil {
		return fmt.Errorf("after %v: %w", timeout, last)
	}
	return nil
}

// noOtherDeletion polls until no namespace but nm is being deleted, or
// returns which still are after timeout.
func noOtherDeletion(ctx context.Context, c client.Client, nm string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var deleting []string
	err := kwait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list := &corev1.NamespaceList{}
		if err := c.List(ctx, list); err != nil {
			return false, nil
		}
		deleting = deleting[:0]
		for _, other := range list.Items {
			if other.Name != nm && other.DeletionTimestamp != nil {
				deleting = append(deleting, other.Name)
			}
		}
		return len(deleting) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("after %v, %d namespaces still being deleted ahead of %s (%v): %w", timeout, len(deleting), nm, deleting, err)
	}
	return nil
}

// gone returns nil once obj no longer exists, and otherwise why not (for
// a namespace, its deletion conditions).
func gone(ctx context.Context, c client.Client, obj client.Object) error {
	err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if n, ok := obj.(*corev1.Namespace); ok {
		return fmt.Errorf("namespace %s still exists (deleting since %v, conditions %+v)", n.Name, n.DeletionTimestamp, n.Status.Conditions)
	}
	return fmt.Errorf("%T %s still exists (deleting since %v)", obj, client.ObjectKeyFromObject(obj), obj.GetDeletionTimestamp())
}

// create creates obj, retrying while a just-started manager still answers
// "Canopy is starting" or its forest has not seen a new namespace.
func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := c.Create(ctx, obj)
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		obj.SetResourceVersion("")
		return fmt.Errorf("creating %T %s: %w", obj, client.ObjectKeyFromObject(obj), err)
	})
}

// stuckDeleting waits until namespace nm, being deleted, reports that the
// namespace controller failed to delete its content, and returns that
// failure as an error.
func stuckDeleting(ctx context.Context, c client.Client, nm string) error {
	var last string
	for ctx.Err() == nil {
		n := &corev1.Namespace{}
		if err := c.Get(ctx, client.ObjectKey{Name: nm}, n); err != nil {
			return fmt.Errorf("namespace %s: %w (want it stuck in Terminating)", nm, err)
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NamespaceDeletionContentFailure && cond.Status == corev1.ConditionTrue {
				return fmt.Errorf("namespace %s stays Terminating: %s", nm, cond.Message)
			}
		}
		last = fmt.Sprintf("%+v", n.Status.Conditions)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("namespace %s being deleted reported no content failure (conditions %s): %w", nm, last, ctx.Err())
}

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
