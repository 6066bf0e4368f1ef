package propagation

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	policy "github.com/canopyhq/canopy/internal/propagation"
)

func role(ns, name string, labels, annots map[string]string, rules ...string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1",
		"kind":       "Role",
	}}
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(labels)
	u.SetAnnotations(annots)
	var rs []any
	for _, r := range rules {
		rs = append(rs, map[string]any{"verbs": []any{r}, "apiGroups": []any{""}, "resources": []any{"pods"}})
	}
	if rs != nil {
		u.Object["rules"] = rs
	}
	return u
}

func copyOf(src *unstructured.Unstructured, ns, rv string) *unstructured.Unstructured {
	c := policy.MakeCopy(src, ns, policy.DefaultConfig())
	c.SetResourceVersion(rv)
	return c
}

func TestDecide(t *testing.T) {
	src := role("root", "r", nil, nil, "get")
	changed := role("root", "r", nil, nil, "list")
	mid := role("mid", "r", nil, nil, "watch")
	none := role("root", "r", nil, map[string]string{api.AnnotationNoneSelector: "true"}, "get")
	all := role("root", "r", nil, map[string]string{api.AnnotationAllSelector: "true"}, "get")
	bad := role("root", "r", nil, map[string]string{api.AnnotationSelector: "=="}, "get")
	own := role("leaf", "r", nil, nil, "delete")
	stale := copyOf(src, "leaf", "7")
	labels := map[string]string{"leaf" + api.LabelTreeDepthSuffix: "0", "root" + api.LabelTreeDepthSuffix: "2"}

	tests := []struct {
		name       string
		in         Input
		wantAction Action
		wantObj    *unstructured.Unstructured
		wantSrcNS  string
		wantExErr  bool
	}{
		{name: "create missing copy", in: Input{Candidates: []*unstructured.Unstructured{src}}, wantAction: Create, wantObj: copyOf(src, "leaf", ""), wantSrcNS: "root"},
		{name: "equivalent copy untouched", in: Input{Existing: copyOf(src, "leaf", "7"), Candidates: []*unstructured.Unstructured{src}}, wantAction: None, wantSrcNS: "root"},
		{name: "stale copy updated with its resourceVersion", in: Input{Existing: stale, Candidates: []*unstructured.Unstructured{changed}}, wantAction: Update, wantObj: copyOf(changed, "leaf", "7"), wantSrcNS: "root"},
		{name: "top-most source wins", in: Input{Candidates: []*unstructured.Unstructured{src, mid}}, wantAction: Create, wantObj: copyOf(src, "leaf", ""), wantSrcNS: "root"},
		{name: "source gone deletes copy", in: Input{Existing: stale}, wantAction: Delete, wantObj: stale},
		{name: "no source, no object", in: Input{}, wantAction: None},
		{name: "none exception deletes copy", in: Input{Existing: stale, Candidates: []*unstructured.Unstructured{none}}, wantAction: Delete, wantObj: stale},
		{name: "remove mode deletes copy", in: Input{Mode: api.Remove, Existing: stale, Candidates: []*unstructured.Unstructured{src}}, wantAction: Delete, wantObj: stale},
		{name: "allow-propagate without annotation copies nothing", in: Input{Mode: api.AllowPropagate, Candidates: []*unstructured.Unstructured{src}}, wantAction: None},
		{name: "allow-propagate with all copies", in: Input{Mode: api.AllowPropagate, Candidates: []*unstructured.Unstructured{all}}, wantAction: Create, wantObj: copyOf(all, "leaf", ""), wantSrcNS: "root"},
		{name: "own object is a conflict", in: Input{Existing: own, Candidates: []*unstructured.Unstructured{src}}, wantAction: Conflict, wantSrcNS: "root"},
		{name: "own object without source is left alone", in: Input{Existing: own}, wantAction: None},
		{name: "halted namespace is left alone", in: Input{Skip: "halted", Existing: stale}, wantAction: None},
		{name: "invalid exception skipped and reported", in: Input{Candidates: []*unstructured.Unstructured{bad, mid}}, wantAction: Create, wantObj: copyOf(mid, "leaf", ""), wantSrcNS: "mid", wantExErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Namespace = "leaf"
			in.DestLabels = labels
			in.Config = policy.DefaultConfig()
			if in.Mode == "" {
				in.Mode = api.Propagate
			}
			got := Decide(in)
			if got.Action != tc.wantAction {
				t.Fatalf("action = %v, want %v", got.Action, tc.wantAction)
			}
			var gotObj any
			if got.Object != nil {
				gotObj = got.Object.Object
			}
			var wantObj any
			if tc.wantObj != nil {
				wantObj = tc.wantObj.Object
			}
			if diff := cmp.Diff(wantObj, gotObj); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
			gotSrcNS := ""
			if got.Source != nil {
				gotSrcNS = got.Source.GetNamespace()
			}
			if gotSrcNS != tc.wantSrcNS {
				t.Errorf("source namespace = %q, want %q", gotSrcNS, tc.wantSrcNS)
			}
			if (got.ExceptionErr != nil) != tc.wantExErr {
				t.Errorf("exception error = %v, want error %v", got.ExceptionErr, tc.wantExErr)
			}
		})
	}
}

func TestDecideHoldsBackRoleBindingsOnAForeignRole(t *testing.T) {
	rb := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
		"subjects": []any{map[string]any{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"}},
	}}
	rb.SetNamespace("root")
	rb.SetName("readers")
	own := role("child", "reader", nil, nil, "get")
	copied := copyOf(role("root", "reader", nil, nil, "get"), "child", "1")
	existing := copyOf(rb, "child", "7")
	base := Input{Namespace: "child", Candidates: []*unstructured.Unstructured{rb}, Mode: api.Propagate, Config: policy.DefaultConfig()}

	in := base
	in.DestRoles = map[string]*unstructured.Unstructured{"reader": own}
	if d := Decide(in); d.Action != None || d.RoleConflict == "" {
		t.Errorf("own Role, no copy yet: %v %q, want None with a conflict", d.Action, d.RoleConflict)
	}
	in.Existing = existing
	if d := Decide(in); d.Action != Delete || d.Object != existing || d.RoleConflict == "" {
		t.Errorf("own Role, copy present: %v %q, want Delete of the copy", d.Action, d.RoleConflict)
	}
	in = base
	in.DestRoles = map[string]*unstructured.Unstructured{"reader": copied}
	if d := Decide(in); d.Action != Create || d.RoleConflict != "" {
		t.Errorf("the source's Role copied: %v %q, want Create", d.Action, d.RoleConflict)
	}
	in.DestRoles = map[string]*unstructured.Unstructured{"reader": nil}
	if d := Decide(in); d.Action != Create || d.RoleConflict != "" {
		t.Errorf("no Role of that name: %v %q, want Create", d.Action, d.RoleConflict)
	}
}
