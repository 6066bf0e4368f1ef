package anchors

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

func anchor(ns, name string) *api.SubnamespaceAnchor {
	return &api.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestDecide(t *testing.T) {
	cfg, err := forest.Options{ManagerNamespace: "canopy-system", ManagedLabels: []string{"team"}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	f := forest.NewWithConfig(cfg)
	f.Lock()
	for _, nm := range []string{"p", "sub", "grand", "full", "halted", "open", "osub", "ogrand"} {
		f.Get(nm).SetExists(true)
	}
	link := func(child, parent string) {
		f.Get(child).SetParent(f.Get(parent))
		f.Get(child).SetIsSub(true)
		f.Get(parent).SetAnchors(append(f.Get(parent).AnchorNames(), child))
	}
	link("sub", "p")
	link("grand", "sub")
	link("osub", "open")
	link("ogrand", "osub")
	f.Get("open").SetAllowCascadingDeletion(true)
	// sub2's own subnamespace has an anchor but no parent link yet.
	f.Get("sub2").SetExists(true)
	link("sub2", "p")
	f.Get("sub2").SetAnchors([]string{"pending"})
	f.Get("halted").SetParent(f.Get("missing"))
	f.Get("halted").RefreshConditions()
	f.Unlock()

	withLabel := anchor("p", "new")
	withLabel.Spec.Labels = []api.MetaKVP{{Key: "other", Value: "v"}}
	okLabel := anchor("p", "new2")
	okLabel.Spec.Labels = []api.MetaKVP{{Key: "team", Value: "a"}}
	tests := []struct {
		name     string
		req      Request
		wantDeny string
	}{
		{"new subnamespace", Request{Op: admissionv1.Create, New: anchor("p", "new")}, ""},
		{"excluded parent", Request{Op: admissionv1.Create, New: anchor("canopy-system", "x")}, "cannot create a subnamespace in \"canopy-system\""},
		{"excluded child", Request{Op: admissionv1.Create, New: anchor("p", "kube-system")}, "cannot create subnamespace \"kube-system\""},
		{"invalid name", Request{Op: admissionv1.Create, New: anchor("p", "Bad_Name")}, "not a valid namespace name"},
		{"halted parent", Request{Op: admissionv1.Create, New: anchor("halted", "x")}, "activities are halted"},
		{"existing full namespace conflicts", Request{Op: admissionv1.Create, New: anchor("p", "full")}, "already exists"},
		{"another parent's subnamespace conflicts", Request{Op: admissionv1.Create, New: anchor("p", "grand")}, "already exists"},
		{"re-creating the anchor of our own subnamespace", Request{Op: admissionv1.Create, New: anchor("p", "sub")}, ""},
		{"illegal managed label", Request{Op: admissionv1.Create, New: withLabel}, "invalid spec.labels"},
		{"legal managed label", Request{Op: admissionv1.Create, New: okLabel}, ""},
		{"delete anchor of subtree without cascading", Request{Op: admissionv1.Delete, Old: anchor("p", "sub")}, "has children (grand)"},
		{"delete anchor of subtree with inherited cascading", Request{Op: admissionv1.Delete, Old: anchor("open", "osub")}, ""},
		{"delete anchor whose subnamespace holds anchors", Request{Op: admissionv1.Delete, Old: anchor("p", "sub2")}, "has children (pending)"},
		{"delete anchor of leaf", Request{Op: admissionv1.Delete, Old: anchor("sub", "grand")}, ""},
		{"delete conflicting anchor", Request{Op: admissionv1.Delete, Old: anchor("p", "grand")}, ""},
		{"manager may do anything", Request{Op: admissionv1.Delete, Old: anchor("p", "sub"), FromManager: true}, ""},
	}
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
