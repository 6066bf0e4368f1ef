package tenant

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// The admission policies put the guardrails in the API server itself, so
// they hold while the manager is down and add no webhook hop. The allowed
// values are compiled into the CEL expressions as literals (no params), so
// a policy is self-contained and readable with kubectl.

// podSpecsVar is a list of the pod specs an object carries: the pod's own,
// or the template of a workload controller; empty for anything else.
const podSpecsVar = `request.resource.resource == 'pods' ? [object.spec] :
request.resource.resource == 'cronjobs' ? [object.spec.jobTemplate.spec.template.spec] :
request.resource.resource in ['deployments', 'statefulsets', 'daemonsets', 'replicasets', 'jobs'] ? [object.spec.template.spec] :
[]`

// imagesVar lists every image of every container, init container and
// ephemeral container in those pod specs.
const imagesVar = `variables.podSpecs.size() == 0 ? [] :
(has(variables.podSpecs[0].containers) ? variables.podSpecs[0].containers.map(c, c.image) : []) +
(has(variables.podSpecs[0].initContainers) ? variables.podSpecs[0].initContainers.map(c, c.image) : []) +
(has(variables.podSpecs[0].ephemeralContainers) ? variables.podSpecs[0].ephemeralContainers.map(c, c.image) : [])`

// celList renders values as a CEL list of string literals.
func celList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// sortedKeys returns m's keys in order, so generated expressions are stable.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Validations returns the CEL validations the Tenant's policies ask for;
// empty when it sets none.
func Validations(t *tenancyv1.Tenant) []admissionv1.Validation {
	p := t.Spec.Policies
	if p == nil {
		return nil
	}
	var out []admissionv1.Validation
	if len(p.AllowedRegistries) > 0 {
		out = append(out, registryValidation(t.Name, p.AllowedRegistries))
	}
	if len(p.AllowedStorageClasses) > 0 {
		out = append(out,
			classValidation(t.Name, "persistentvolumeclaims", "storageClassName", p.AllowedStorageClasses),
			claimTemplatesValidation(t.Name, p.AllowedStorageClasses))
	}
	if len(p.AllowedIngressClasses) > 0 {
		out = append(out, classValidation(t.Name, "ingresses", "ingressClassName", p.AllowedIngressClasses))
	}
	if len(p.NodeSelector) > 0 {
		var pairs, terms []string
		for _, k := range sortedKeys(p.NodeSelector) {
			v := p.NodeSelector[k]
			pairs = append(pairs, k+"="+v)
			terms = append(terms, fmt.Sprintf("(!(%s in s.nodeSelector) || s.nodeSelector[%s] == %s)", strconv.Quote(k), strconv.Quote(k), strconv.Quote(v)))
		}
		out = append(out,
			admissionv1.Validation{
				// Only on CREATE: the scheduler sets nodeName through the
				// binding subresource, and later updates carry it.
				Expression: "request.operation != 'CREATE' || variables.podSpecs.all(s, !has(s.nodeName) || s.nodeName == '')",
				Message:    fmt.Sprintf("tenant %s: spec.nodeName may not be set; pods are scheduled onto nodes matching %s", t.Name, strings.Join(pairs, ",")),
				Reason:     ptr(metav1.StatusReasonForbidden),
			},
			admissionv1.Validation{
				Expression: "variables.podSpecs.all(s, !has(s.nodeSelector) || (" + strings.Join(terms, " && ") + "))",
				Message:    fmt.Sprintf("tenant %s: spec.nodeSelector contradicts the tenant's node selector %s", t.Name, strings.Join(pairs, ",")),
				Reason:     ptr(metav1.StatusReasonForbidden),
			})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// policyRules are the resources the policies see: pods (and their
// ephemeral containers), every workload controller with a pod template,
// PVCs and Ingresses.
func policyRules() []admissionv1.NamedRuleWithOperations {
	rule := func(group string, resources ...string) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule: admissionv1.Rule{
				APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources,
				Scope: ptr(admissionv1.NamespacedScope),
			},
		}}
	}
	return []admissionv1.NamedRuleWithOperations{
		rule("", "pods", "pods/ephemeralcontainers", "persistentvolumeclaims"),
		rule("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
		rule("batch", "jobs", "cronjobs"),
		rule("networking.k8s.io", "ingresses"),
	}
}

// tenantNamespaces selects the tenant's namespaces by its label.
func tenantNamespaces(t *tenancyv1.Tenant) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{tenancyv1.LabelTenant: t.Name}}
}

// ValidatingPolicy returns the Tenant's ValidatingAdmissionPolicy and its
// binding, or nils when the Tenant sets no guardrail. The policy fails
// closed: a broken expression must not let workloads escape the tenant's
// rules, and it only ever affects the tenant's own namespaces.
func ValidatingPolicy(t *tenancyv1.Tenant) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	validations := Validations(t)
	if len(validations) == 0 {
		return nil, nil
	}
	name := ClusterName(t.Name)
	vap := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: generatedLabels(t)},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: policyRules()},
			Variables: []admissionv1.Variable{
				{Name: "podSpecs", Expression: podSpecsVar},
				{Name: "images", Expression: imagesVar},
			},
			Validations: validations,
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: generatedLabels(t)},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: tenantNamespaces(t)},
		},
	}
	return vap, binding
}

// MutatingPolicy returns the MutatingAdmissionPolicy injecting the tenant's
// node selector into new pods, and its binding, or nils without one. A pod
// that already contradicts the selector is left alone (matchConditions) so
// the validating policy rejects it with a clear message rather than the
// mutation silently overriding the user's choice.
func MutatingPolicy(t *tenancyv1.Tenant) (*admissionv1.MutatingAdmissionPolicy, *admissionv1.MutatingAdmissionPolicyBinding) {
	if t.Spec.Policies == nil || len(t.Spec.Policies.NodeSelector) == 0 {
		return nil, nil
	}
	sel := t.Spec.Policies.NodeSelector
	var fields, adds, agree []string
	for _, k := range sortedKeys(sel) {
		fields = append(fields, fmt.Sprintf("%s: %s", strconv.Quote(k), strconv.Quote(sel[k])))
		path := "/spec/nodeSelector/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
		adds = append(adds, fmt.Sprintf("JSONPatch{op: \"add\", path: %s, value: %s}", strconv.Quote(path), strconv.Quote(sel[k])))
		agree = append(agree, fmt.Sprintf("(!(%s in object.spec.nodeSelector) || object.spec.nodeSelector[%s] == %s)", strconv.Quote(k), strconv.Quote(k), strconv.Quote(sel[k])))
	}
	name := ClusterName(t.Name)
	m := &admissionv1.MutatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "MutatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: generatedLabels(t)},
		Spec: admissionv1.MutatingAdmissionPolicySpec{
			FailurePolicy: ptr(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"},
						Scope: ptr(admissionv1.NamespacedScope)},
				},
			}}},
			MatchConditions: []admissionv1.MatchCondition{{
				Name:       "agrees-with-tenant-selector",
				Expression: "!has(object.spec.nodeSelector) || (" + strings.Join(agree, " && ") + ")",
			}},
			// nodeSelector is an atomic map, which an apply configuration
			// may not merge into: JSON patches add the keys instead.
			Mutations: []admissionv1.Mutation{{
				PatchType: admissionv1.PatchTypeJSONPatch,
				JSONPatch: &admissionv1.JSONPatch{
					Expression: "has(object.spec.nodeSelector) ? [" + strings.Join(adds, ", ") + "] : " +
						"[JSONPatch{op: \"add\", path: \"/spec/nodeSelector\", value: {" + strings.Join(fields, ", ") + "}}]",
				},
			}},
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
		},
	}
	binding := &admissionv1.MutatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "MutatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: generatedLabels(t)},
		Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{
			PolicyName:     name,
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: tenantNamespaces(t)},
		},
	}
	return m, binding
}

// classValidation requires objects of resource to name one of the allowed
// classes in spec.<field>.
func classValidation(tenant, resource, field string, allowed []string) admissionv1.Validation {
	return admissionv1.Validation{
		Expression: fmt.Sprintf("request.resource.resource != '%s' || (has(object.spec.%s) && object.spec.%s in %s)",
			resource, field, field, celList(allowed)),
		Message: fmt.Sprintf("tenant %s: spec.%s must be one of: %s", tenant, field, strings.Join(allowed, ", ")),
		Reason:  ptr(metav1.StatusReasonForbidden),
	}
}

// claimTemplatesValidation requires every volumeClaimTemplate of a
// StatefulSet to name one of the allowed storage classes, so a StatefulSet
// that would create disallowed PVCs fails at apply time rather than in the
// StatefulSet controller's events. The message names the offending
// templates.
func claimTemplatesValidation(tenant string, allowed []string) admissionv1.Validation {
	ok := fmt.Sprintf("(has(c.spec.storageClassName) && c.spec.storageClassName in %s)", celList(allowed))
	return admissionv1.Validation{
		Expression: fmt.Sprintf("request.resource.resource != 'statefulsets' || !has(object.spec.volumeClaimTemplates) || object.spec.volumeClaimTemplates.all(c, %s)", ok),
		MessageExpression: fmt.Sprintf("'tenant %s: spec.volumeClaimTemplates ' + object.spec.volumeClaimTemplates.filter(c, !%s).map(c, has(c.metadata) && has(c.metadata.name) ? c.metadata.name : '(unnamed)').join(', ') + ' must set spec.storageClassName to one of: %s'",
			tenant, ok, strings.Join(allowed, ", ")),
		Message: fmt.Sprintf("tenant %s: every spec.volumeClaimTemplates[*].spec.storageClassName must be one of: %s", tenant, strings.Join(allowed, ", ")),
		Reason:  ptr(metav1.StatusReasonForbidden),
	}
}
