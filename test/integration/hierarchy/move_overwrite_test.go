package hierarchy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestMoveThatWouldOverwriteIsDenied: mo-y, a child of mo-x, holds its own
// Role named like one in mo-a. Moving mo-x under mo-a would overwrite it
// with mo-a's copy, so the move is denied, naming the object; once the
// Role is renamed away the move is allowed and the copy arrives.
func TestMoveThatWouldOverwriteIsDenied(t *testing.T) {
	ctx := context.Background()
	createNS(t, "mo-a", "mo-x", "mo-y")
	mustSetParent(t, "mo-y", "mo-x")
	role := func(ns string) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mo-shared"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}
	}
	for _, ns := range []string{"mo-a", "mo-y"} {
		if err := admin(t).Create(ctx, role(ns)); err != nil {
			t.Fatal(err)
		}
	}
	// The webhook learns of both Roles through the forest; until then it
	// may allow the move, so wait for the denial (and fail on an allowed
	// move rather than undo it).
	framework.Eventually(t, wait, func(context.Context) error {
		err := setParent(admin(t), "mo-x", "mo-a")
		if err == nil {
			t.Fatal("moving mo-x under mo-a was allowed though mo-a's Role would overwrite mo-y's own")
		}
		if !strings.Contains(err.Error(), "would overwrite") {
			return fmt.Errorf("denied for another reason: %w", err)
		}
		wantDenied(t, err, `Role "mo-shared" in namespace "mo-y" (by the one in "mo-a")`)
		return nil
	})

	if err := admin(t).Delete(ctx, role("mo-y")); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, wait, func(context.Context) error { return setParent(admin(t), "mo-x", "mo-a") })
	framework.Eventually(t, wait, func(ctx context.Context) error {
		r := &rbacv1.Role{}
		if err := admin(t).Get(ctx, client.ObjectKey{Namespace: "mo-y", Name: "mo-shared"}, r); err != nil {
			return err
		}
		if r.Labels[api.LabelInheritedFrom] != "mo-a" {
			return fmt.Errorf("mo-y's Role is not mo-a's copy yet: labels %v", r.Labels)
		}
		return nil
	})
}
