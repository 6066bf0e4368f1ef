package kubectl

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// clusterObjects is a cluster with a tenant tree, a standalone namespace,
// a two-namespace cycle and a namespace whose parent is gone.
func clusterObjects() []client.Object {
	return []client.Object{
		ns("", "acme"),
		ns("acme", "acme", "dev"),
		ns("acme", "acme", "prod"),
		ns("", "acme", "prod", "prod-eu"),
		ns("", "standalone"),
		ns("", "cyc-a"),
		ns("", "cyc-b"),
		ns("", "orphan"),
		hc("acme", "", []string{"dev", "prod"}),
		hc("prod", "acme", []string{"prod-eu"}),
		hc("prod-eu", "prod", nil, cond(hncv1.ConditionBadConfiguration, hncv1.ReasonAnchorMissing, "anchor is gone")),
		hc("cyc-a", "cyc-b", []string{"cyc-b"}, cond(hncv1.ConditionActivitiesHalted, hncv1.ReasonInCycle, "in cycle: cyc-a <- cyc-b <- cyc-a")),
		hc("cyc-b", "cyc-a", []string{"cyc-a"}, cond(hncv1.ConditionActivitiesHalted, hncv1.ReasonInCycle, "in cycle: cyc-a <- cyc-b <- cyc-a")),
		hc("orphan", "gone", nil, cond(hncv1.ConditionActivitiesHalted, hncv1.ReasonParentMissing, "parent gone does not exist")),
	}
}

func TestTreeAllNamespacesGolden(t *testing.T) {
	c, calls := newFakeClient(t, nil, clusterObjects()...)
	var out bytes.Buffer
	if err := Tree(context.Background(), c, &out, TreeOptions{AllNamespaces: true}); err != nil {
		t.Fatalf("Tree: %v", err)
	}
	want := `acme
├── [s] dev
└── [s] prod
    └── prod-eu (1)
cyc-a (2)
cyc-b (2)
orphan (3)
standalone

[s] indicates subnamespaces

Conditions:
1) BadConfiguration (SubnamespaceAnchorMissing): anchor is gone
2) ActivitiesHalted (InCycle): in cycle: cyc-a <- cyc-b <- cyc-a
3) ActivitiesHalted (ParentMissing): parent gone does not exist
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("tree -A (-want +got):\n%s", diff)
	}
	if got := calls.total("List"); got != 2 {
		t.Errorf("tree -A made %d List calls, want 2", got)
	}
	if got := calls.total("Get"); got != 0 {
		t.Errorf("tree -A made %d Get calls, want 0", got)
	}
}

// TestTreeAllNamespacesConstantCalls proves HNC's #223 does not apply: the
// number of calls does not grow with the number of namespaces.
func TestTreeAllNamespacesConstantCalls(t *testing.T) {
	for _, size := range []int{1, 10, 200} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			objs := []client.Object{ns("", "root")}
			var children []string
			for i := range size {
				name := fmt.Sprintf("child-%03d", i)
				children = append(children, name)
				objs = append(objs, ns("root", "root", name), hc(name, "root", nil))
			}
			objs = append(objs, hc("root", "", children))
			c, calls := newFakeClient(t, nil, objs...)
			var out bytes.Buffer
			if err := Tree(context.Background(), c, &out, TreeOptions{AllNamespaces: true}); err != nil {
				t.Fatalf("Tree: %v", err)
			}
			if got := strings.Count(out.String(), "[s] child-"); got != size {
				t.Errorf("rendered %d children, want %d", got, size)
			}
			want := map[string]int{
				"List *v1.NamespaceList":                    1,
				"List *v1alpha2.HierarchyConfigurationList": 1,
			}
			if diff := cmp.Diff(want, calls.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTreeNamespaceGolden(t *testing.T) {
	c, calls := newFakeClient(t, nil, clusterObjects()...)
	var out bytes.Buffer
	if err := Tree(context.Background(), c, &out, TreeOptions{Namespaces: []string{"prod"}}); err != nil {
		t.Fatalf("Tree: %v", err)
	}
	want := `prod
└── prod-eu (1)

Conditions:
1) BadConfiguration (SubnamespaceAnchorMissing): anchor is gone
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("tree prod (-want +got):\n%s", diff)
	}
	// Two namespaces walked, a namespace Get and a hierarchy Get each.
	if got := calls.total("Get"); got != 4 {
		t.Errorf("tree prod made %d Get calls, want 4", got)
	}
	if got := calls.total("List"); got != 0 {
		t.Errorf("tree prod made %d List calls, want 0", got)
	}
}

func TestTreeCycleFromMember(t *testing.T) {
	c, _ := newFakeClient(t, nil, clusterObjects()...)
	var out bytes.Buffer
	if err := Tree(context.Background(), c, &out, TreeOptions{Namespaces: []string{"cyc-a"}}); err != nil {
		t.Fatalf("Tree: %v", err)
	}
	want := `cyc-a (1)

Conditions:
1) ActivitiesHalted (InCycle): in cycle: cyc-a <- cyc-b <- cyc-a
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("tree cyc-a (-want +got):\n%s", diff)
	}
}

func TestTreeErrors(t *testing.T) {
	tests := []struct {
		name string
		opts TreeOptions
		want string
	}{
		{"nothing", TreeOptions{}, "must specify the root of the tree(s) to display or else specify --all-namespaces (-A)"},
		{"both", TreeOptions{Namespaces: []string{"acme"}, AllNamespaces: true}, "--all-namespaces (-A) cannot be combined with namespace arguments"},
		{"missing root", TreeOptions{Namespaces: []string{"nope"}}, `reading namespace nope: namespaces "nope" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newFakeClient(t, nil, clusterObjects()...)
			err := Tree(context.Background(), c, &bytes.Buffer{}, tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Tree error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBuildForest(t *testing.T) {
	tests := []struct {
		name      string
		nss       []corev1.Namespace
		hcs       []hncv1.HierarchyConfiguration
		wantRoots []string
		wantKids  map[string][]string
	}{
		{
			name:      "parent from tree labels when there is no hierarchy configuration",
			nss:       []corev1.Namespace{*ns("", "a"), *ns("a", "a", "b")},
			wantRoots: []string{"a"},
			wantKids:  map[string][]string{"a": {"b"}},
		},
		{
			name:      "child missing from parent's status is still shown",
			nss:       []corev1.Namespace{*ns("", "a"), *ns("", "b"), *ns("", "c")},
			hcs:       []hncv1.HierarchyConfiguration{*hc("a", "", []string{"b"}), *hc("c", "a", nil)},
			wantRoots: []string{"a", "b"},
			wantKids:  map[string][]string{"a": {"b", "c"}},
		},
		{
			name:      "hierarchy configurations not named hierarchy are ignored",
			nss:       []corev1.Namespace{*ns("", "a"), *ns("", "b")},
			hcs:       []hncv1.HierarchyConfiguration{func() hncv1.HierarchyConfiguration { h := hc("b", "a", nil); h.Name = "other"; return *h }()},
			wantRoots: []string{"a", "b"},
			wantKids:  map[string][]string{},
		},
		{
			name:      "unflagged loop is drawn from its first member",
			nss:       []corev1.Namespace{*ns("", "x"), *ns("", "y")},
			hcs:       []hncv1.HierarchyConfiguration{*hc("x", "y", nil), *hc("y", "x", nil)},
			wantRoots: []string{"x"},
			wantKids:  map[string][]string{"x": {"y"}, "y": {"x"}},
		},
		{
			name:      "self parent does not loop",
			nss:       []corev1.Namespace{*ns("", "a")},
			hcs:       []hncv1.HierarchyConfiguration{*hc("a", "a", nil)},
			wantRoots: []string{"a"},
			wantKids:  map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := buildForest(tt.nss, tt.hcs)
			if diff := cmp.Diff(tt.wantRoots, f.roots()); diff != "" {
				t.Errorf("roots (-want +got):\n%s", diff)
			}
			kids := map[string][]string{}
			for name, n := range f {
				if len(n.children) > 0 {
					kids[name] = n.children
				}
			}
			if diff := cmp.Diff(tt.wantKids, kids); diff != "" {
				t.Errorf("children (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderTreesStopsAtLoops(t *testing.T) {
	f := buildForest(
		[]corev1.Namespace{*ns("", "x"), *ns("", "y")},
		[]hncv1.HierarchyConfiguration{*hc("x", "y", nil), *hc("y", "x", nil)},
	)
	got := renderTrees(f, f.roots())
	want := "x\n└── y\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("render (-want +got):\n%s", diff)
	}
}
