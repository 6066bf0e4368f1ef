package isolation

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// TestNoWindowBeforeGuardrails is issue 11, suspected item A: a lead
// creates a subnamespace and, polling as fast as the API server answers,
// tries to run pods in it before its guardrails exist: a privileged pod
// (Pod Security), an image from an unlisted registry (the tenant's
// admission policy), and a plain pod, which must get the LimitRange's
// defaults and land behind the NetworkPolicy. Declared namespaces are
// tried the same way as the Tenant creates them.
func TestNoWindowBeforeGuardrails(t *testing.T) {
	tenant(t, "win", func(tn *tenancyv1.Tenant) {
		tn.Spec.Policies = &tenancyv1.TenantPolicies{
			NetworkIsolation:  true,
			PodSecurity:       "baseline",
			AllowedRegistries: []string{"registry.example.com/"},
		}
		tn.Spec.NamespaceDefaults = &tenancyv1.NamespaceDefaults{LimitRange: &corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			Default:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		}}}}
	})
	alice := lead(t, "alice", "win-leads")
	for i := range 8 {
		name := fmt.Sprintf("win-s%d", i)
		eventually(t, wait, func(ctx context.Context) error {
			return client.IgnoreAlreadyExists(alice.Create(ctx, &hncv1.SubnamespaceAnchor{ObjectMeta: metav1.ObjectMeta{Namespace: "win", Name: name}}))
		})
		raceGuardrails(t, alice, name)
	}
	// A namespace the platform declares, created by the Tenant itself.
	eventually(t, wait, func(ctx context.Context) error {
		tn := &tenancyv1.Tenant{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "win"}, tn); err != nil {
			return err
		}
		tn.Spec.Namespaces = append(tn.Spec.Namespaces, tenancyv1.TenantNamespace{Name: "win-declared"})
		return admin(t).Update(ctx, tn)
	})
	raceGuardrails(t, alice, "win-declared")

	// The gate lets through only dry-run probes, which change nothing.
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "win-gated",
		Labels:      map[string]string{tenancyv1.LabelTenant: "win"},
		Annotations: map[string]string{tenantctrl.AnnotationGuardrailsPending: "win"}}}); err != nil {
		t.Fatal(err)
	}
	probe := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "win-gated", Name: "probe",
			Annotations: map[string]string{tenantctrl.AnnotationGuardrailsProbe: "true"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/app:1"}}}}
	}
	eventually(t, wait, func(ctx context.Context) error {
		return admin(t).Create(ctx, probe(), client.DryRunAll)
	})
	expectDenied(t, "a real pod carrying the probe annotation", admin(t).Create(ctx, probe()), "guardrails", "not in place yet")
	plain := probe()
	plain.Annotations = nil
	expectDenied(t, "a dry run without the probe annotation", admin(t).Create(ctx, plain, client.DryRunAll), "guardrails", "not in place yet")
}

// raceGuardrails polls pod creations in ns as c until a plain pod is
// admitted, then checks what the guardrails did to it.
func raceGuardrails(t *testing.T, c client.Client, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	pod := func(name, image string, privileged bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
		if privileged {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
		}
		return p
	}
	attempts := 0
	for {
		if ctx.Err() != nil {
			t.Fatalf("%s: no plain pod admitted within %v (%d attempts)", ns, wait, attempts)
		}
		attempts++
		if err := c.Create(ctx, pod("privileged", "registry.example.com/app:1", true)); err == nil {
			t.Errorf("%s: a privileged pod was admitted after %d attempts", ns, attempts)
		}
		if err := c.Create(ctx, pod("elsewhere", "evil.example.net/app:1", false)); err == nil {
			t.Errorf("%s: an image from an unlisted registry was admitted after %d attempts", ns, attempts)
		}
		if err := c.Create(ctx, pod("plain", "registry.example.com/app:1", false)); err == nil {
			break
		}
		// Not there yet, not allowed yet or refused: poll again at once,
		// as fast as the API server answers.
	}
	// The plain pod got in: the NetworkPolicy must be there already and
	// the LimitRange must have defaulted it.
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: tenantctrl.NetworkPolicyName}, &networkingv1.NetworkPolicy{}); err != nil {
		t.Errorf("%s: a pod was admitted before the NetworkPolicy existed: %v", ns, err)
	}
	p := &corev1.Pod{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "plain"}, p); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Errorf("%s: a pod was admitted before the LimitRange existed (no default CPU request) after %d attempts", ns, attempts)
	}
	n := &corev1.Namespace{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: ns}, n); err != nil {
		t.Fatal(err)
	}
	if n.Labels[tenancyv1.LabelTenant] != "win" {
		t.Errorf("%s: the tenant label is missing after a pod was admitted", ns)
	}
	t.Logf("%s: first pod admitted after %d attempts", ns, attempts)
}
