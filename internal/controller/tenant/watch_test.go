package tenant

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestTenantOfGenerated(t *testing.T) {
	obj := func(gvk schema.GroupVersionKind, labels map[string]string) *metav1.PartialObjectMetadata {
		m := metadataOf(gvk)
		m.Labels = labels
		return m
	}
	np := networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")
	tests := []struct {
		name string
		obj  *metav1.PartialObjectMetadata
		want string
	}{
		{"generated object", obj(np, map[string]string{LabelGenerated: "payments"}), "payments"},
		{"object without the label", obj(np, map[string]string{"app": "x"}), ""},
		{"an object's tenant label is not its generator", obj(np, map[string]string{tenancyv1.LabelTenant: "payments"}), ""},
		{"namespace by its tenant label", obj(namespaceGVK, map[string]string{tenancyv1.LabelTenant: "payments"}), "payments"},
		{"namespace without the tenant label", obj(namespaceGVK, map[string]string{LabelGenerated: "payments"}), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TenantOfGenerated(tc.obj)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("TenantOfGenerated = %v, want none", got)
			case tc.want != "" && (len(got) != 1 || got[0].Name != tc.want || got[0].Namespace != ""):
				t.Errorf("TenantOfGenerated = %v, want %s", got, tc.want)
			}
		})
	}
}

// Kinds the API server does not serve get no watch; the rest, and
// namespaces, do.
func TestDriftSourcesSkipUnservedKinds(t *testing.T) {
	all := driftSources(nil, func(schema.GroupVersionKind) bool { return true })
	if want := len(generatedKinds) + 1; len(all) != want {
		t.Errorf("%d sources, want %d", len(all), want)
	}
	noMAP := driftSources(nil, func(gvk schema.GroupVersionKind) bool {
		return gvk.Kind != "MutatingAdmissionPolicy" && gvk.Kind != "MutatingAdmissionPolicyBinding"
	})
	if want := len(generatedKinds) - 1; len(noMAP) != want {
		t.Errorf("%d sources without MutatingAdmissionPolicy, want %d", len(noMAP), want)
	}
}
