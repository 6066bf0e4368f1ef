package hierarchy

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/setup"
	"github.com/canopyhq/canopy/test/integration/framework"
)

func TestAnchorOkAndMissing(t *testing.T) {
	createNS(t, "an-p")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	wc, err := client.NewWithWatch(env.CP.Config, client.Options{Scheme: setup.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(ctx, &api.SubnamespaceAnchorList{}, client.InNamespace("an-p"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := createAnchor(t, admin(t), "an-p", "an-s"); err != nil {
		t.Fatal(err)
	}
	// The reconciler reports Missing before it creates the namespace, then
	// Ok once the namespace exists.
	var states []api.SubnamespaceAnchorState
	for ev := range w.ResultChan() {
		a, ok := ev.Object.(*api.SubnamespaceAnchor)
		if !ok {
			continue
		}
		if len(states) == 0 || states[len(states)-1] != a.Status.State {
			states = append(states, a.Status.State)
		}
		if a.Status.State == api.Ok {
			break
		}
	}
	if !slices.Equal(states, []api.SubnamespaceAnchorState{"", api.Missing, api.Ok}) {
		t.Fatalf("anchor states = %v, want [\"\" Missing Ok]", states)
	}

	sub := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "an-s"}, sub); err != nil {
		t.Fatal(err)
	}
	if got := sub.Annotations[api.SubnamespaceOf]; got != "an-p" {
		t.Errorf("subnamespace-of = %q, want an-p", got)
	}
	a := &api.SubnamespaceAnchor{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "an-p", Name: "an-s"}, a); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(a.Finalizers, api.MetaGroup) {
		t.Errorf("anchor finalizers = %v, want %s", a.Finalizers, api.MetaGroup)
	}
	waitTreeLabels(t, "an-s", map[string]string{depth("an-p"): "1", depth("an-s"): "0", "canopy.dev/in-tree": "true"})
	framework.Eventually(t, wait, func(ctx context.Context) error {
		hc, err := getHC(ctx, "an-p")
		if err != nil {
			return err
		}
		if !slices.Contains(hc.Finalizers, api.FinalizerHasSubnamespace) || !slices.Equal(hc.Status.Children, []string{"an-s"}) {
			return fmt.Errorf("an-p hierarchy: finalizers %v children %v", hc.Finalizers, hc.Status.Children)
		}
		return parentIs(ctx, "an-s", "an-p")
	})
	// A subnamespace's parent cannot be changed by users.
	createNS(t, "an-other")
	wantDenied(t, setParent(admin(t), "an-s", "an-other"), "is a subnamespace")
}

func TestAnchorConflictAndForbidden(t *testing.T) {
	createNS(t, "ac-p", "ac-full")
	wantDenied(t, createAnchor(t, admin(t), "ac-p", "ac-full"), "already exists")
	// Reach the states an outage could leave behind with the manager's
	// credentials, which the webhook lets through.
	if err := createAnchor(t, env.Client, "ac-p", "ac-full"); err != nil {
		t.Fatal(err)
	}
	waitAnchorState(t, "ac-p", "ac-full", api.Conflict)
	if err := createAnchor(t, env.Client, "ac-p", "kube-node-lease"); err != nil {
		t.Fatal(err)
	}
	waitAnchorState(t, "ac-p", "kube-node-lease", api.Forbidden)

	// Deleting a conflicting anchor leaves the namespace alone.
	a := &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "ac-p", Name: "ac-full"}}
	if err := admin(t).Delete(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	waitGone(t, a)
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: "ac-full"}, &corev1.Namespace{}); err != nil {
		t.Fatalf("conflicting namespace was touched: %v", err)
	}
}

func TestSubnamespaceDeletion(t *testing.T) {
	ctx := context.Background()
	createNS(t, "cd-root")
	if err := createAnchor(t, admin(t), "cd-root", "cd-s1"); err != nil {
		t.Fatal(err)
	}
	waitAnchorState(t, "cd-root", "cd-s1", api.Ok)
	if err := createAnchor(t, admin(t), "cd-s1", "cd-s2"); err != nil {
		t.Fatal(err)
	}
	waitAnchorState(t, "cd-s1", "cd-s2", api.Ok)
	waitTreeLabels(t, "cd-s2", map[string]string{depth("cd-root"): "2", depth("cd-s1"): "1", depth("cd-s2"): "0", "canopy.dev/in-tree": "true"})

	// Deleting a subnamespace directly points at its anchor.
	wantDenied(t, admin(t).Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cd-s2"}}), "delete its anchor instead")
	// Deleting a namespace or an anchor with subnamespaces below needs
	// cascading deletion.
	wantDenied(t, admin(t).Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cd-root"}}), "has subnamespaces (cd-s1)")
	wantDenied(t, admin(t).Delete(ctx, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "cd-root", Name: "cd-s1"}}), "has children (cd-s2)")

	// A leaf subnamespace goes with its anchor.
	if err := createAnchor(t, admin(t), "cd-root", "cd-leaf"); err != nil {
		t.Fatal(err)
	}
	waitAnchorState(t, "cd-root", "cd-leaf", api.Ok)
	if err := admin(t).Delete(ctx, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "cd-root", Name: "cd-leaf"}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cd-leaf"}})

	// With cascading deletion allowed on the root, the whole subtree goes.
	hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "cd-root", Name: api.Singleton}}
	update(t, admin(t), hc, func(hc *api.HierarchyConfiguration) { hc.Spec.AllowCascadingDeletion = true })
	framework.Eventually(t, wait, func(ctx context.Context) error {
		// The webhook's forest sees the change shortly after the write.
		return admin(t).Delete(ctx, &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "cd-root", Name: "cd-s1"}})
	})
	waitGone(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cd-s1"}})
	waitGone(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cd-s2"}})

	// And the root itself may be deleted with a subnamespace in it.
	if err := createAnchor(t, admin(t), "cd-root", "cd-s3"); err != nil {
		t.Fatal(err)
	}
	waitAnchorState(t, "cd-root", "cd-s3", api.Ok)
	if err := admin(t).Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cd-root"}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cd-s3"}})
	waitGone(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cd-root"}})
}

func TestAnchorMissingCondition(t *testing.T) {
	ctx := context.Background()
	createNS(t, "am-p")
	if err := createAnchor(t, admin(t), "am-p", "am-s"); err != nil {
		t.Fatal(err)
	}
	waitAnchorState(t, "am-p", "am-s", api.Ok)
	if err := createAnchor(t, admin(t), "am-s", "am-g"); err != nil {
		t.Fatal(err)
	}
	waitAnchorState(t, "am-s", "am-g", api.Ok)
	waitTreeLabels(t, "am-g", map[string]string{depth("am-p"): "2", depth("am-s"): "1", depth("am-g"): "0", "canopy.dev/in-tree": "true"})
	// Users may not delete an anchor whose subnamespace has children; the
	// manager's credentials bypass the webhook, as an outage could. The
	// reconciler then keeps the subtree (cascading deletion is not
	// allowed), releases the anchor and flags the orphaned subnamespace.
	a := &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "am-p", Name: "am-s"}}
	if err := env.Client.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	waitGone(t, a)
	waitCondition(t, "am-s", api.ConditionBadConfiguration, api.ReasonAnchorMissing, true)
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "am-g"}, &corev1.Namespace{}); err != nil {
		t.Fatalf("grandchild deleted without cascading deletion: %v", err)
	}
}
