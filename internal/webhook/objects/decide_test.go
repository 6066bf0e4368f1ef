package objects

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
	policy "github.com/canopyhq/canopy/internal/propagation"
)

func secret(ns, name string, labels, annots map[string]string, data string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "data": map[string]any{"k": data}}}
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(labels)
	u.SetAnnotations(annots)
	return u
}

// tree builds root <- mid <- leaf, plus a halted namespace below mid.
func tree(t *testing.T) *forest.Forest {
	t.Helper()
	f := forest.New()
	for _, nm := range []string{"root", "mid", "leaf", "halted"} {
		f.Get(nm).SetExists(true)
	}
	f.Get("mid").SetParent(f.Get("root"))
	f.Get("leaf").SetParent(f.Get("mid"))
	f.Get("halted").SetParent(f.Get("mid"))
	f.Get("halted").SetLocalCondition(forest.ReasonDeletingCRD, "halted for the test")
	f.Get("leaf").SetSourceObject(secret("leaf", "own", nil, nil, "leaf"))
	f.Get("halted").SetSourceObject(secret("halted", "own", nil, nil, "halted"))
	f.Get("root").SetSourceObject(secret("root", "top", nil, nil, "root"))
	return f
}

func TestDecide(t *testing.T) {
	copyFromRoot := policy.MakeCopy(secret("root", "top", nil, nil, "root"), "leaf", policy.DefaultConfig())
	edited := copyFromRoot.DeepCopy()
	edited.Object["data"] = map[string]any{"k": "changed"}
	withRV := copyFromRoot.DeepCopy()
	withRV.SetResourceVersion("42")

	tests := []struct {
		name          string
		req           Request
		wantAllowed   bool
		wantMsg       string
		wantConflicts []string
	}{
		{name: "user deletes a copy", req: Request{Operation: admissionv1.Delete, Namespace: "leaf", Old: copyFromRoot}, wantMsg: `propagated from namespace "root"`},
		{name: "manager deletes a copy", req: Request{Operation: admissionv1.Delete, Namespace: "leaf", Old: copyFromRoot, ByManager: true}, wantAllowed: true},
		{name: "namespace deletion removes a copy", req: Request{Operation: admissionv1.Delete, Namespace: "leaf", Old: copyFromRoot, NamespaceTerminating: true}, wantAllowed: true},
		{name: "user deletes own object", req: Request{Operation: admissionv1.Delete, Namespace: "leaf", Old: secret("leaf", "own", nil, nil, "x")}, wantAllowed: true},
		{name: "user edits a copy", req: Request{Operation: admissionv1.Update, Namespace: "leaf", Old: copyFromRoot, New: edited}, wantMsg: `Edit the source in "root"`},
		{name: "server-side metadata change on a copy", req: Request{Operation: admissionv1.Update, Namespace: "leaf", Old: copyFromRoot, New: withRV}, wantAllowed: true},
		{name: "user forges a copy", req: Request{Operation: admissionv1.Create, Namespace: "leaf", New: secret("leaf", "x", map[string]string{api.LabelInheritedFrom: "root"}, nil, "x")}, wantMsg: "only Canopy marks"},
		{name: "invalid select", req: Request{Operation: admissionv1.Create, Namespace: "root", New: secret("root", "s", nil, map[string]string{api.AnnotationSelector: "a in (b"}, "x")}, wantMsg: api.AnnotationSelector},
		{name: "two exceptions", req: Request{Operation: admissionv1.Create, Namespace: "root", New: secret("root", "s", nil, map[string]string{api.AnnotationNoneSelector: "true", api.AnnotationAllSelector: "true"}, "x")}, wantMsg: "only one propagation exception"},
		{name: "source conflicts with a descendant", req: Request{Operation: admissionv1.Create, Namespace: "root", New: secret("root", "own", nil, nil, "x"), Mode: api.Propagate, Propagated: true}, wantMsg: "descendant namespaces leaf", wantConflicts: []string{"leaf"}},
		{name: "no conflict when the exception skips the descendant", req: Request{Operation: admissionv1.Create, Namespace: "root", New: secret("root", "own", nil, map[string]string{api.AnnotationTreeSelector: "!leaf"}, "x"), Mode: api.Propagate, Propagated: true}, wantAllowed: true},
		{name: "no conflict in allow-propagate without all", req: Request{Operation: admissionv1.Create, Namespace: "root", New: secret("root", "own", nil, nil, "x"), Mode: api.AllowPropagate, Propagated: true}, wantAllowed: true},
		{name: "no conflict for an ignored type", req: Request{Operation: admissionv1.Create, Namespace: "root", New: secret("root", "own", nil, nil, "x")}, wantAllowed: true},
		{name: "no conflict for a never-propagated secret", req: Request{Operation: admissionv1.Create, Namespace: "root", New: func() *unstructured.Unstructured {
			s := secret("root", "own", nil, nil, "x")
			s.Object["type"] = "helm.sh/release.v1"
			return s
		}(), Mode: api.Propagate, Propagated: true}, wantAllowed: true},
		{name: "plain source", req: Request{Operation: admissionv1.Create, Namespace: "root", New: secret("root", "fresh", nil, nil, "x"), Mode: api.Propagate, Propagated: true}, wantAllowed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tree(t)
			f.Lock()
			v := Decide(tc.req, f, policy.DefaultConfig())
			f.Unlock()
			if v.Allowed != tc.wantAllowed {
				t.Fatalf("allowed = %v (%q), want %v", v.Allowed, v.Message, tc.wantAllowed)
			}
			if !strings.Contains(v.Message, tc.wantMsg) {
				t.Errorf("message %q does not contain %q", v.Message, tc.wantMsg)
			}
			var got []string
			for _, c := range v.Conflicts {
				got = append(got, c.Namespace)
			}
			if diff := cmp.Diff(tc.wantConflicts, got); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
		})
	}
}
