package namespaces

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/internal/forest"
)

// tree: root <- sub (subnamespace with anchor in root) <- leaf (subnamespace
// of sub), and open (allows cascading) <- opensub.
func newForest() *forest.Forest {
	f := forest.New()
	f.Lock()
	defer f.Unlock()
	for _, nm := range []string{"root", "sub", "leaf", "open", "opensub", "plain"} {
		f.Get(nm).SetExists(true)
	}
	f.Get("sub").SetParent(f.Get("root"))
	f.Get("sub").SetIsSub(true)
	f.Get("root").SetAnchors([]string{"sub"})
	f.Get("leaf").SetParent(f.Get("sub"))
	f.Get("leaf").SetIsSub(true)
	f.Get("sub").SetAnchors([]string{"leaf"})
	f.Get("open").SetAllowCascadingDeletion(true)
	f.Get("opensub").SetParent(f.Get("open"))
	f.Get("opensub").SetIsSub(true)
	f.Get("open").SetAnchors([]string{"opensub"})
	return f
}

func TestDecide(t *testing.T) {
	depth := func(nm string) string { return nm + api.LabelTreeDepthSuffix }
	subOf := func(p string) map[string]string { return map[string]string{api.SubnamespaceOf: p} }
	tests := []struct {
		name string
		req  Request
		// wantDeny is a substring of the denial, "" to allow.
		wantDeny string
	}{
		{"user adds a tree label", Request{Op: admissionv1.Update, Name: "plain", NewLabels: map[string]string{depth("root"): "1"}}, "only Canopy's manager"},
		{"user removes a tree label", Request{Op: admissionv1.Update, Name: "sub", OldLabels: map[string]string{depth("root"): "1"}}, "only Canopy's manager"},
		{"user changes in-tree", Request{Op: admissionv1.Update, Name: "sub", OldLabels: map[string]string{forest.LabelInTree: "true"}, NewLabels: map[string]string{forest.LabelInTree: "false"}}, "only Canopy's manager"},
		{"user creates with a tree label", Request{Op: admissionv1.Create, Name: "new", NewLabels: map[string]string{depth("x"): "0"}}, "only Canopy's manager"},
		{"a create carries its own depth label 0", Request{Op: admissionv1.Create, Name: "new", NewLabels: map[string]string{depth("new"): "0"}}, ""},
		{"a create claims depth 1 for itself", Request{Op: admissionv1.Create, Name: "new", NewLabels: map[string]string{depth("new"): "1"}}, "only Canopy's manager"},
		{"a create claims an ancestor beside its own depth", Request{Op: admissionv1.Create, Name: "new", NewLabels: map[string]string{depth("new"): "0", depth("root"): "1"}}, "only Canopy's manager"},
		{"a create claims in-tree beside its own depth", Request{Op: admissionv1.Create, Name: "new", NewLabels: map[string]string{depth("new"): "0", forest.LabelInTree: "true"}}, "only Canopy's manager"},
		{"a user adds its own depth label later", Request{Op: admissionv1.Update, Name: "plain", NewLabels: map[string]string{depth("plain"): "0"}}, "only Canopy's manager"},
		{"manager sets tree labels", Request{Op: admissionv1.Update, Name: "plain", NewLabels: map[string]string{depth("root"): "1"}, FromManager: true}, ""},
		{"user keeps tree labels and changes others", Request{Op: admissionv1.Update, Name: "sub", OldLabels: map[string]string{depth("root"): "1"}, NewLabels: map[string]string{depth("root"): "1", "x": "y"}}, ""},
		{"user sets the tenant label", Request{Op: admissionv1.Update, Name: "plain", NewLabels: map[string]string{tenancyv1.LabelTenant: "pay"}}, "only Canopy's manager may set, change or remove the label tenancy.canopy.dev/tenant"},
		{"user creates with the tenant label", Request{Op: admissionv1.Create, Name: "new", NewLabels: map[string]string{tenancyv1.LabelTenant: "pay"}}, "tenancy.canopy.dev/tenant"},
		{"user changes the tenant label", Request{Op: admissionv1.Update, Name: "sub", OldLabels: map[string]string{tenancyv1.LabelTenant: "pay"}, NewLabels: map[string]string{tenancyv1.LabelTenant: "other"}}, "tenancy.canopy.dev/tenant"},
		{"user removes the tenant label", Request{Op: admissionv1.Update, Name: "sub", OldLabels: map[string]string{tenancyv1.LabelTenant: "pay"}}, "tenancy.canopy.dev/tenant"},
		{"user empties the tenant label", Request{Op: admissionv1.Update, Name: "sub", OldLabels: map[string]string{tenancyv1.LabelTenant: "pay"}, NewLabels: map[string]string{tenancyv1.LabelTenant: ""}}, "tenancy.canopy.dev/tenant"},
		{"user keeps the tenant label", Request{Op: admissionv1.Update, Name: "sub", OldLabels: map[string]string{tenancyv1.LabelTenant: "pay"}, NewLabels: map[string]string{tenancyv1.LabelTenant: "pay", "x": "y"}}, ""},
		{"manager sets the tenant label", Request{Op: admissionv1.Update, Name: "plain", NewLabels: map[string]string{tenancyv1.LabelTenant: "pay"}, FromManager: true}, ""},
		{"user removes the guardrails gate", Request{Op: admissionv1.Update, Name: "sub", OldAnnotations: map[string]string{tenantctrl.AnnotationGuardrailsPending: "pay"}, NewAnnot: map[string]string{}}, "guardrails-pending"},
		{"manager removes the guardrails gate", Request{Op: admissionv1.Update, Name: "sub", OldAnnotations: map[string]string{tenantctrl.AnnotationGuardrailsPending: "pay"}, FromManager: true}, ""},
		{"user changes the subnamespace-of annotation", Request{Op: admissionv1.Update, Name: "sub", OldAnnotations: subOf("root"), NewAnnot: subOf("open")}, "cannot be added, changed or removed"},
		{"user creates a fake subnamespace", Request{Op: admissionv1.Create, Name: "fake", NewAnnot: subOf("root")}, "cannot be added"},
		{"deleting a subnamespace points at the anchor", Request{Op: admissionv1.Delete, Name: "leaf", OldAnnotations: subOf("sub")}, "delete its anchor instead"},
		{"subnamespace whose anchor is gone may be deleted", Request{Op: admissionv1.Delete, Name: "plain", OldAnnotations: subOf("root")}, ""},
		{"namespace with subnamespaces needs cascading deletion", Request{Op: admissionv1.Delete, Name: "root"}, "has subnamespaces (sub)"},
		{"namespace allowing cascading deletion may be deleted", Request{Op: admissionv1.Delete, Name: "open"}, ""},
		{"manager deletes a subnamespace", Request{Op: admissionv1.Delete, Name: "leaf", OldAnnotations: subOf("sub"), FromManager: true}, ""},
		{"plain namespace may be deleted", Request{Op: admissionv1.Delete, Name: "plain"}, ""},
	}
	f := newForest()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.Lock()
			got := Decide(f, tc.req)
			f.Unlock()
			if (tc.wantDeny == "") != (got == "") || !strings.Contains(got, tc.wantDeny) {
				t.Errorf("Decide = %q, want denial containing %q", got, tc.wantDeny)
			}
		})
	}
}
