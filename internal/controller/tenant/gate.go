package tenant

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// The guardrails gate closes the window between a namespace appearing in a
// tenant's tree and its guardrails existing. A new namespace is created in
// one write with every label the Tenant sets (so Pod Security and the
// tenant's admission policies hold from its first moment) and with the
// annotation AnnotationGuardrailsPending; the Tenant's gate policy, bound
// to its namespaces by the tenant label, refuses pods and workload
// controllers in a namespace carrying it. The reconciler removes the
// annotation once the namespace's LimitRange and NetworkPolicy are applied.

// AnnotationGuardrailsPending marks a new namespace of tenant (its value)
// whose guardrails are not in place yet.
const AnnotationGuardrailsPending = "tenancy.canopy.dev/guardrails-pending"

// AnnotationGuardrailsProbe marks the dry-run pods with which the
// reconciler checks that the API server enforces a new admission policy:
// it takes effect only once the API server has loaded it, and nothing
// reports when. The gate lets dry runs carrying it through (a dry run
// changes nothing).
const AnnotationGuardrailsProbe = "tenancy.canopy.dev/guardrails-probe"

// probeRequeue paces reconciles waiting for the API server to enforce a
// new admission policy.
const probeRequeue = time.Second

// CreationMeta returns the labels and annotations a new namespace of t is
// created with: NamespaceMeta plus AnnotationGuardrailsPending.
func CreationMeta(t *tenancyv1.Tenant) (labels, annotations map[string]string) {
	labels, annotations = NamespaceMeta(t)
	annotations = maps.Clone(annotations)
	annotations[AnnotationGuardrailsPending] = t.Name
	return labels, annotations
}

// GateName is the name of the Tenant's gate policy and its binding.
func GateName(tenant string) string { return ClusterName(tenant) + "-gate" }

// gateRules are the writes the gate refuses: creating pods and workload
// controllers.
func gateRules() []admissionv1.NamedRuleWithOperations {
	rule := func(group string, resources ...string) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create},
			Rule: admissionv1.Rule{
				APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources,
				Scope: ptr(admissionv1.NamespacedScope),
			},
		}}
	}
	return []admissionv1.NamedRuleWithOperations{
		rule("", "pods"),
		rule("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
		rule("batch", "jobs", "cronjobs"),
	}
}

// Gate returns the Tenant's gate policy and its binding. Every Tenant has
// them. The policy fails closed and only ever sees the tenant's own
// namespaces.
func Gate(t *tenancyv1.Tenant) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	name := GateName(t.Name)
	key := AnnotationGuardrailsPending
	vap := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: generatedLabels(t)},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    ptr(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: gateRules()},
			MatchConditions: []admissionv1.MatchCondition{{
				Name:       "not-a-dry-run-probe",
				Expression: fmt.Sprintf("!(request.dryRun == true && has(object.metadata.annotations) && %q in object.metadata.annotations)", AnnotationGuardrailsProbe),
			}},
			Validations: []admissionv1.Validation{{
				Expression: fmt.Sprintf("!has(namespaceObject.metadata.annotations) || !(%q in namespaceObject.metadata.annotations)", key),
				MessageExpression: fmt.Sprintf("'tenant %s: namespace ' + namespaceObject.metadata.name + ' is new and its guardrails (labels, LimitRange, NetworkPolicy) are not in place yet; retry in a few seconds'",
					t.Name),
				Reason: ptr(metav1.StatusReasonForbidden),
			}},
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

// gate applies the Tenant's gate policy and binding.
func (r *Reconciler) gate(ctx context.Context, t *tenancyv1.Tenant) error {
	vap, b := Gate(t)
	return errors.Join(apply(ctx, r.Client, vap), apply(ctx, r.Client, b))
}

// deleteGate removes the gate policy and binding.
func (r *Reconciler) deleteGate(ctx context.Context, t *tenancyv1.Tenant) error {
	name := GateName(t.Name)
	return errors.Join(
		deleteIgnoringMissing(ctx, r.Client, &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}),
		deleteIgnoringMissing(ctx, r.Client, &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}))
}

// openGates removes AnnotationGuardrailsPending from the namespaces named,
// whose labels, LimitRange and NetworkPolicy the caller has just applied,
// once the API server enforces the Tenant's admission policy there. It
// reports whether a namespace is still waiting for that.
func (r *Reconciler) openGates(ctx context.Context, t *tenancyv1.Tenant, names []string) (bool, error) {
	var errs []error
	waiting := false
	for _, name := range names {
		ns := &corev1.Namespace{}
		if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			errs = append(errs, client.IgnoreNotFound(err))
			continue
		}
		if _, ok := ns.Annotations[AnnotationGuardrailsPending]; !ok || ns.DeletionTimestamp != nil {
			continue
		}
		enforced, err := r.policyEnforced(ctx, t, name)
		if err != nil || !enforced {
			waiting = waiting || err == nil
			errs = append(errs, err)
			continue
		}
		errs = append(errs, removeMeta(ctx, r.Client, ns, nil, []string{AnnotationGuardrailsPending}))
	}
	return waiting, errors.Join(errs...)
}

// probe returns a dry-run pod for namespace ns that passes Pod Security's
// restricted level, with image as its only image.
func probe(ns, image string) *corev1.Pod {
	no, yes := false, true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "canopy-guardrails-probe-",
			Annotations: map[string]string{AnnotationGuardrailsProbe: "true"}},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "probe", Image: image, SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: &no, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			}}},
		},
	}
}

// policyEnforced reports whether the API server enforces the Tenant's
// admission policy in namespace ns: a dry-run pod with an image from no
// allowed registry, compliant with everything else (Pod Security's
// restricted level, and the gate lets probes through), is refused.
// Without allowed registries there is nothing to wait for (Pod Security
// reads the namespace's labels, present since its creation).
func (r *Reconciler) policyEnforced(ctx context.Context, t *tenancyv1.Tenant, ns string) (bool, error) {
	if t.Spec.Policies == nil || len(t.Spec.Policies.AllowedRegistries) == 0 {
		return true, nil
	}
	return refused(r.Client.Create(ctx, probe(ns, "guardrails-probe.invalid/canopy/probe:0"), client.DryRunAll), ns)
}

// refused tells an admission refusal of a dry-run probe (true) from an
// admission (false) and from a failure to ask (an error).
func refused(err error, ns string) (bool, error) {
	switch {
	case err == nil:
		return false, nil
	case apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return true, nil
	default:
		return false, fmt.Errorf("probing admission in %s: %w", ns, err)
	}
}

// allowedImage is an image the Tenant's registry policy admits.
func allowedImage(t *tenancyv1.Tenant) string {
	if t.Spec.Policies == nil || len(t.Spec.Policies.AllowedRegistries) == 0 {
		return "registry.invalid/canopy/gate-probe:0"
	}
	r := t.Spec.Policies.AllowedRegistries[0]
	if !strings.HasSuffix(r, "/") {
		r += "/"
	}
	return r + "canopy/gate-probe:0"
}

// gateEnforced reports whether the API server enforces the gate in the
// Tenant's root while the root is still gated: a compliant dry-run pod
// (not a probe the gate lets through) is refused. Until then
// nothing else of the tree is written, so no owner can reach a namespace
// the gate does not yet guard. A root already opened needs no check.
func (r *Reconciler) gateEnforced(ctx context.Context, t *tenancyv1.Tenant) (bool, error) {
	root := &corev1.Namespace{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: t.Name}, root); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if _, ok := root.Annotations[AnnotationGuardrailsPending]; !ok {
		return true, nil
	}
	p := probe(t.Name, allowedImage(t))
	p.Annotations = nil
	return refused(r.Client.Create(ctx, p, client.DryRunAll), t.Name)
}

// removeMeta deletes label and annotation keys from ns with a merge patch,
// whoever owns them (a namespace created with the Tenant's labels by the
// anchor reconciler does not hold them under canopy-tenant alone).
func removeMeta(ctx context.Context, c client.Client, ns *corev1.Namespace, labels, annotations []string) error {
	patched := ns.DeepCopy()
	for _, k := range labels {
		delete(patched.Labels, k)
	}
	for _, k := range annotations {
		delete(patched.Annotations, k)
	}
	if err := c.Patch(ctx, patched, client.MergeFrom(ns)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("updating namespace %s: %w", ns.Name, err)
	}
	return nil
}
