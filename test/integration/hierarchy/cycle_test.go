package hierarchy

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

// TestInCycleHaltsAndRecovers builds a cycle the webhook would refuse a
// user (the manager's credentials bypass it, as a cycle written while the
// webhook was down would), and expects every member to be halted with
// InCycle, the namespace below it with AncestorHaltActivities, and full
// recovery (conditions, tree labels, propagation) once the cycle is broken.
func TestInCycleHaltsAndRecovers(t *testing.T) {
	createNS(t, "ic-a", "ic-b", "ic-below")
	mustSetParent(t, "ic-below", "ic-b")
	for child, parent := range map[string]string{"ic-a": "ic-b", "ic-b": "ic-a"} {
		// The reconciler may create the singleton of a new parent at the
		// same moment.
		framework.Eventually(t, wait, func(context.Context) error {
			err := setParent(env.Client, child, parent)
			if err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatalf("setting parent of %q to %q with the manager's credentials: %v", child, parent, err)
			}
			return err
		})
	}
	waitCondition(t, "ic-a", api.ConditionActivitiesHalted, api.ReasonInCycle, true)
	waitCondition(t, "ic-b", api.ConditionActivitiesHalted, api.ReasonInCycle, true)
	waitCondition(t, "ic-below", api.ConditionActivitiesHalted, api.ReasonAncestor, true)

	// A source created while the tree is halted.
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "ic-a", Name: "ic-role"}}
	if err := admin(t).Create(context.Background(), role); err != nil {
		t.Fatal(err)
	}

	// Breaking the cycle makes ic-a the root again.
	if err := setParent(env.Client, "ic-a", ""); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, "ic-a", api.ConditionActivitiesHalted, api.ReasonInCycle, false)
	waitCondition(t, "ic-b", api.ConditionActivitiesHalted, api.ReasonInCycle, false)
	waitCondition(t, "ic-below", api.ConditionActivitiesHalted, api.ReasonAncestor, false)
	waitTreeLabels(t, "ic-below", map[string]string{depth("ic-a"): "2", depth("ic-b"): "1", depth("ic-below"): "0", "canopy.dev/in-tree": "true"})
	// The source held back during the cycle reaches the subtree now.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		return admin(t).Get(ctx, client.ObjectKey{Namespace: "ic-below", Name: "ic-role"}, &rbacv1.Role{})
	})
}
