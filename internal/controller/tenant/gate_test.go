package tenant

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func TestCreationMetaGatesANewNamespace(t *testing.T) {
	tn := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "pay"}, Spec: tenancyv1.TenantSpec{
		Policies:          &tenancyv1.TenantPolicies{PodSecurity: "restricted"},
		NamespaceDefaults: &tenancyv1.NamespaceDefaults{Annotations: map[string]string{"owner": "pay-team"}},
	}}
	labels, annotations := CreationMeta(tn)
	if labels[tenancyv1.LabelTenant] != "pay" || labels[LabelPodSecurityEnforce] != "restricted" {
		t.Errorf("labels = %v, want the tenant label and Pod Security's", labels)
	}
	if annotations[AnnotationGuardrailsPending] != "pay" || annotations["owner"] != "pay-team" {
		t.Errorf("annotations = %v, want the gate and the defaults", annotations)
	}
	if _, a := NamespaceMeta(tn); a[AnnotationGuardrailsPending] != "" {
		t.Errorf("CreationMeta changed NamespaceMeta's map: %v", a)
	}
}

func TestGateBindsTheTenantsNamespacesAndLetsProbesThrough(t *testing.T) {
	vap, b := Gate(&tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "pay"}})
	if vap.Name != "canopy-tenant-pay-gate" || b.Spec.PolicyName != vap.Name {
		t.Errorf("names: policy %q, binding to %q", vap.Name, b.Spec.PolicyName)
	}
	if got := b.Spec.MatchResources.NamespaceSelector.MatchLabels[tenancyv1.LabelTenant]; got != "pay" {
		t.Errorf("binding selects tenant %q, want pay", got)
	}
	if len(vap.Spec.Validations) != 1 || !strings.Contains(vap.Spec.Validations[0].Expression, AnnotationGuardrailsPending) {
		t.Errorf("validations = %+v, want one on %s", vap.Spec.Validations, AnnotationGuardrailsPending)
	}
	if len(vap.Spec.MatchConditions) != 1 || !strings.Contains(vap.Spec.MatchConditions[0].Expression, "request.dryRun == true") ||
		!strings.Contains(vap.Spec.MatchConditions[0].Expression, AnnotationGuardrailsProbe) {
		t.Errorf("match conditions = %+v, want dry-run probes let through", vap.Spec.MatchConditions)
	}
}
