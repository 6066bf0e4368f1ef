package hierarchy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

func mustConfig(t *testing.T, o forest.Options) forest.Config {
	t.Helper()
	cfg, err := o.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestTakeModel(t *testing.T) {
	f := forest.NewWithConfig(mustConfig(t, forest.Options{ManagerNamespace: "canopy-system"}))
	f.Lock()
	defer f.Unlock()
	for _, nm := range []string{"a", "b", "c", "canopy-system"} {
		f.Get(nm).SetExists(true)
	}
	f.Get("b").SetParent(f.Get("a"))
	f.Get("c").SetParent(f.Get("b"))
	f.Get("b").SetAnchors([]string{"c"})
	f.Get("orphan").SetExists(true)
	f.Get("orphan").SetParent(f.Get("gone"))
	now := metav1.NewTime(time.Unix(100, 0))
	for _, nm := range []string{"a", "b", "c", "orphan"} {
		f.Get(nm).RefreshConditions()
	}

	if got := TakeModel(f.Config(), f.Get("canopy-system"), 0, nil, now); !got.Excluded {
		t.Errorf("manager namespace not excluded: %+v", got)
	}
	b := TakeModel(f.Config(), f.Get("b"), 3, nil, now)
	want := Model{
		TreeLabels: map[string]string{"a" + api.LabelTreeDepthSuffix: "1", "b" + api.LabelTreeDepthSuffix: "0"},
		InTree:     true,
		Children:   []string{"c"},
		HasAnchors: true,
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("model of b (-want +got):\n%s", diff)
	}
	o := TakeModel(f.Config(), f.Get("orphan"), 2, nil, now)
	if len(o.Conditions) != 1 || o.Conditions[0].Reason != api.ReasonParentMissing || o.Conditions[0].ObservedGeneration != 2 || !o.Conditions[0].LastTransitionTime.Equal(&now) {
		t.Errorf("orphan conditions = %+v, want one ParentMissing at generation 2", o.Conditions)
	}
	if lone := TakeModel(f.Config(), f.Get("a"), 0, nil, now); lone.InTree != true {
		t.Errorf("a has a child and must be in the tree: %+v", lone)
	}
}

func TestDesiredLabels(t *testing.T) {
	cfg := mustConfig(t, forest.Options{ManagedLabels: []string{"team"}})
	tree := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	depth := func(nm string) string { return nm + api.LabelTreeDepthSuffix }
	tests := []struct {
		name    string
		current map[string]string
		m       Model
		want    map[string]string
		changed bool
	}{{
		name:    "adds tree, included and in-tree labels, keeps user labels",
		current: tree("user", "x"),
		m:       Model{TreeLabels: tree(depth("c"), "0", depth("p"), "1"), InTree: true},
		want:    tree("user", "x", depth("c"), "0", depth("p"), "1", api.LabelIncludedNamespace, "true", forest.LabelInTree, "true"),
		changed: true,
	}, {
		name:    "removes stale tree labels and in-tree after leaving a tree",
		current: tree(depth("c"), "0", depth("old"), "1", api.LabelIncludedNamespace, "true", forest.LabelInTree, "true"),
		m:       Model{TreeLabels: tree(depth("c"), "0")},
		want:    tree(depth("c"), "0", api.LabelIncludedNamespace, "true"),
		changed: true,
	}, {
		name:    "managed labels replace stale managed labels",
		current: tree("team", "old", depth("c"), "0", api.LabelIncludedNamespace, "true"),
		m:       Model{TreeLabels: tree(depth("c"), "0"), ManagedLabels: tree("team", "new")},
		want:    tree("team", "new", depth("c"), "0", api.LabelIncludedNamespace, "true"),
		changed: true,
	}, {
		name:    "unchanged",
		current: tree(depth("c"), "0", api.LabelIncludedNamespace, "true"),
		m:       Model{TreeLabels: tree(depth("c"), "0")},
		want:    tree(depth("c"), "0", api.LabelIncludedNamespace, "true"),
	}, {
		name:    "excluded namespaces lose every Canopy label",
		current: tree("team", "t", depth("kube-system"), "0", api.LabelIncludedNamespace, "true", forest.LabelInTree, "true"),
		m:       Model{Excluded: true},
		want:    tree("team", "t"),
		changed: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := DesiredLabels(cfg, tc.current, tc.m)
			if diff := cmp.Diff(tc.want, got); diff != "" || changed != tc.changed {
				t.Errorf("DesiredLabels changed=%v (want %v) (-want +got):\n%s", changed, tc.changed, diff)
			}
		})
	}
}

func TestDesiredAnnotations(t *testing.T) {
	cfg := mustConfig(t, forest.Options{ManagedAnnotations: []string{"cost/.*"}})
	got, changed := DesiredAnnotations(cfg, map[string]string{"cost/center": "old", "user": "u", api.SubnamespaceOf: "p"}, Model{ManagedAnnotations: map[string]string{"cost/owner": "o"}})
	want := map[string]string{"cost/owner": "o", "user": "u", api.SubnamespaceOf: "p"}
	if diff := cmp.Diff(want, got); diff != "" || !changed {
		t.Errorf("DesiredAnnotations changed=%v (-want +got):\n%s", changed, diff)
	}
	if _, changed := DesiredAnnotations(cfg, want, Model{ManagedAnnotations: map[string]string{"cost/owner": "o"}}); changed {
		t.Error("DesiredAnnotations reports a change for the desired state")
	}
}

func TestDesiredHierarchy(t *testing.T) {
	cond := metav1.Condition{Type: api.ConditionActivitiesHalted, Status: metav1.ConditionTrue, Reason: api.ReasonParentMissing}
	deletingCRD := metav1.Condition{Type: api.ConditionActivitiesHalted, Status: metav1.ConditionTrue, Reason: api.ReasonDeletingCRD}
	existing := func(mod func(*api.HierarchyConfiguration)) *api.HierarchyConfiguration {
		hc := &api.HierarchyConfiguration{ObjectMeta: metav1.ObjectMeta{Namespace: "c", Name: api.Singleton}}
		mod(hc)
		return hc
	}
	tests := []struct {
		name         string
		subOf        string
		terminating  bool
		hc           *api.HierarchyConfiguration
		m            Model
		wantAction   HierarchyAction
		wantParent   string
		wantChildren []string
		wantFinal    []string
	}{
		{name: "plain root needs no singleton", m: Model{}, wantAction: HierarchyNone},
		{name: "excluded never gets one", subOf: "p", m: Model{Excluded: true}, wantAction: HierarchyNone},
		{name: "subnamespace gets one pointing at its anchor's namespace", subOf: "p", wantAction: HierarchyCreate, wantParent: "p"},
		{name: "parent with children gets one with status", m: Model{Children: []string{"x"}}, wantAction: HierarchyCreate, wantChildren: []string{"x"}},
		{name: "anchors add the finalizer", m: Model{HasAnchors: true}, wantAction: HierarchyCreate, wantFinal: []string{api.FinalizerHasSubnamespace}},
		{name: "terminating namespace gets no new singleton", subOf: "p", terminating: true, wantAction: HierarchyNone},
		{name: "no singleton is created while the CRD is being deleted", subOf: "p", m: Model{HasAnchors: true, Conditions: []metav1.Condition{deletingCRD}}, wantAction: HierarchyNone},
		{name: "finalizer dropped while the CRD is being deleted", hc: existing(func(hc *api.HierarchyConfiguration) {
			hc.Finalizers = []string{"other", api.FinalizerHasSubnamespace}
			hc.Status.Conditions = []metav1.Condition{deletingCRD}
		}), m: Model{HasAnchors: true, Conditions: []metav1.Condition{deletingCRD}}, wantAction: HierarchyUpdate, wantFinal: []string{"other"}},
		{name: "unchanged singleton is not written", hc: existing(func(hc *api.HierarchyConfiguration) {
			hc.Status.Children = []string{"x"}
			hc.Status.Conditions = []metav1.Condition{cond}
		}), m: Model{Children: []string{"x"}, Conditions: []metav1.Condition{cond}}, wantAction: HierarchyNone},
		{name: "subnamespace parent is restored", subOf: "p", hc: existing(func(hc *api.HierarchyConfiguration) { hc.Spec.Parent = "elsewhere" }),
			wantAction: HierarchyUpdate, wantParent: "p"},
		{name: "finalizer removed without anchors", hc: existing(func(hc *api.HierarchyConfiguration) {
			hc.Finalizers = []string{"other", api.FinalizerHasSubnamespace}
		}), wantAction: HierarchyUpdate, wantFinal: []string{"other"}},
		{name: "stale children cleared", hc: existing(func(hc *api.HierarchyConfiguration) { hc.Status.Children = []string{"gone"} }),
			wantAction: HierarchyUpdate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, action := DesiredHierarchy("c", tc.subOf, tc.terminating, tc.hc, tc.m)
			if action != tc.wantAction {
				t.Fatalf("action = %v, want %v", action, tc.wantAction)
			}
			if action == HierarchyNone {
				if got != nil {
					t.Errorf("no action but object %+v", got)
				}
				return
			}
			if got.Spec.Parent != tc.wantParent || !cmp.Equal(got.Status.Children, tc.wantChildren) || !cmp.Equal(got.Finalizers, tc.wantFinal) {
				t.Errorf("got parent=%q children=%v finalizers=%v, want %q %v %v", got.Spec.Parent, got.Status.Children, got.Finalizers, tc.wantParent, tc.wantChildren, tc.wantFinal)
			}
		})
	}
}
