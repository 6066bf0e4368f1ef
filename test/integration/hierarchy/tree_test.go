package hierarchy

import (
	"context"
	"fmt"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/test/integration/framework"
)

func TestTreeLabelsThreeLevelsAndMove(t *testing.T) {
	createNS(t, "tl-a", "tl-b", "tl-c", "tl-x")
	mustSetParent(t, "tl-b", "tl-a")
	mustSetParent(t, "tl-c", "tl-b")
	waitTreeLabels(t, "tl-c", map[string]string{depth("tl-a"): "2", depth("tl-b"): "1", depth("tl-c"): "0", "canopy.dev/in-tree": "true"})
	waitTreeLabels(t, "tl-a", map[string]string{depth("tl-a"): "0", "canopy.dev/in-tree": "true"})
	waitTreeLabels(t, "tl-x", map[string]string{depth("tl-x"): "0"})
	framework.Eventually(t, wait, func(ctx context.Context) error {
		hc, err := getHC(ctx, "tl-a")
		if err != nil {
			return err
		}
		if !slices.Equal(hc.Status.Children, []string{"tl-b"}) {
			return fmt.Errorf("children of tl-a = %v", hc.Status.Children)
		}
		return nil
	})

	mustSetParent(t, "tl-b", "tl-x")
	waitTreeLabels(t, "tl-c", map[string]string{depth("tl-x"): "2", depth("tl-b"): "1", depth("tl-c"): "0", "canopy.dev/in-tree": "true"})
	// tl-a lost its only child: it leaves the tree.
	waitTreeLabels(t, "tl-a", map[string]string{depth("tl-a"): "0"})
	framework.Eventually(t, wait, func(ctx context.Context) error {
		hc, err := getHC(ctx, "tl-a")
		if err != nil {
			return err
		}
		if len(hc.Status.Children) != 0 {
			return fmt.Errorf("children of tl-a = %v, want none", hc.Status.Children)
		}
		return nil
	})
}

func TestCycleDenied(t *testing.T) {
	createNS(t, "cy-a", "cy-b", "cy-c")
	mustSetParent(t, "cy-b", "cy-a")
	mustSetParent(t, "cy-c", "cy-b")
	wantDenied(t, setParent(admin(t), "cy-a", "cy-c"), "would create a cycle")
	wantDenied(t, setParent(admin(t), "cy-a", "cy-a"), "would create a cycle")
}

func TestExcludedNamespaces(t *testing.T) {
	createNS(t, "ex-a")
	wantDenied(t, setParent(admin(t), "ex-a", "kube-system"), "cannot be a parent")
	wantDenied(t, setParent(admin(t), "kube-public", "ex-a"), "cannot have a parent")
	wantDenied(t, createAnchor(t, admin(t), "kube-public", "ex-sub"), "cannot create a subnamespace in \"kube-public\"")
	wantDenied(t, createAnchor(t, admin(t), "ex-a", "kube-node-lease"), "cannot create subnamespace \"kube-node-lease\"")
}

func TestParentMissingHaltsSubtree(t *testing.T) {
	createNS(t, "hm-child", "hm-grand")
	// A user cannot name a missing parent; the manager's credentials bypass
	// the webhook to build the state an outage could leave behind.
	hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "hm-child", Name: api.Singleton}}
	hc.Spec.Parent = "hm-missing"
	if err := env.Client.Create(context.Background(), hc); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, setParent(admin(t), "hm-grand", "hm-nowhere"), "does not exist")
	mustSetParent(t, "hm-grand", "hm-child")
	waitCondition(t, "hm-child", api.ConditionActivitiesHalted, api.ReasonParentMissing, true)
	waitCondition(t, "hm-grand", api.ConditionActivitiesHalted, api.ReasonAncestor, true)
	// Labels stop at the halted namespace.
	waitTreeLabels(t, "hm-grand", map[string]string{depth("hm-child"): "1", depth("hm-grand"): "0", "canopy.dev/in-tree": "true"})

	// The parent appears: the subtree resumes.
	createNS(t, "hm-missing")
	waitCondition(t, "hm-child", api.ConditionActivitiesHalted, api.ReasonParentMissing, false)
	waitCondition(t, "hm-grand", api.ConditionActivitiesHalted, api.ReasonAncestor, false)
	waitTreeLabels(t, "hm-grand", map[string]string{depth("hm-missing"): "2", depth("hm-child"): "1", depth("hm-grand"): "0", "canopy.dev/in-tree": "true"})
}

func TestUsersCannotForgeTreeLabels(t *testing.T) {
	createNS(t, "fl-a", "fl-b", "fl-lone")
	mustSetParent(t, "fl-b", "fl-a")
	waitTreeLabels(t, "fl-b", map[string]string{depth("fl-a"): "1", depth("fl-b"): "0", "canopy.dev/in-tree": "true"})
	ctx := context.Background()
	for _, tc := range []struct {
		name, ns string
		mutate   func(*corev1.Namespace)
	}{
		{"add to a tree namespace", "fl-b", func(ns *corev1.Namespace) { ns.Labels[depth("evil")] = "2" }},
		{"change depth", "fl-b", func(ns *corev1.Namespace) { ns.Labels[depth("fl-a")] = "5" }},
		{"remove in-tree", "fl-b", func(ns *corev1.Namespace) { delete(ns.Labels, "canopy.dev/in-tree") }},
		{"add to a namespace outside trees", "fl-lone", func(ns *corev1.Namespace) { ns.Labels[depth("fl-a")] = "1" }},
		{"add in-tree", "fl-lone", func(ns *corev1.Namespace) { ns.Labels["canopy.dev/in-tree"] = "true" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := &corev1.Namespace{}
			if err := admin(t).Get(ctx, clientKey(tc.ns), ns); err != nil {
				t.Fatal(err)
			}
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			tc.mutate(ns)
			wantDenied(t, admin(t).Update(ctx, ns), "only Canopy's manager")
		})
	}
	// Other labels stay editable.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fl-b"}}
	update(t, admin(t), ns, func(ns *corev1.Namespace) { ns.Labels["team"] = "blue" })
}
