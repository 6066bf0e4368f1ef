package isolationdata

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/test/integration/framework"
)

func pod(ns, name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
	}
}

// TestRegistryAllowListMatchesWholeNames: a lead creates pods whose images
// merely start with an allowed entry's text. Entries match whole registry
// or repository names, and Docker Hub short names mean what the kubelet
// pulls.
func TestRegistryAllowListMatchesWholeNames(t *testing.T) {
	createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "reg"},
		Spec: tenancyv1.TenantSpec{
			Owners:   []rbacv1.Subject{groupSubject("reg-leads")},
			Policies: &tenancyv1.TenantPolicies{AllowedRegistries: []string{"registry.example.com", "nginx", "bitnami/", "quay.io/team/"}},
		},
	})
	waitNamespace(t, "reg", "", false)
	alice := lead(t, "reg-alice", "reg-leads")
	// The policy is in place once a foreign image is refused.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		err := alice.Create(ctx, pod("reg", "probe", "ghcr.io/other/app:1"))
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "not from an allowed registry") {
			return nil
		}
		if err == nil {
			_ = alice.Delete(ctx, pod("reg", "probe", ""))
		}
		tn := &tenancyv1.Tenant{}
		_ = env.Client.Get(ctx, client.ObjectKey{Name: "reg"}, tn)
		return fmt.Errorf("foreign image not yet refused: %v (tenant conditions %v)", err, tn.Status.Conditions)
	})

	// A new tenant namespace refuses every workload until its guardrails are
	// in place (the gate policy); the registry rows below start after that.
	framework.Eventually(t, wait, func(ctx context.Context) error {
		n := &corev1.Namespace{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: "reg"}, n); err != nil {
			return err
		}
		if _, gated := n.Annotations[tenantctrl.AnnotationGuardrailsPending]; gated {
			return fmt.Errorf("namespace reg is still gated")
		}
		return nil
	})

	ctx := context.Background()
	for i, tc := range []struct {
		image string
		allow bool
	}{
		{"registry.example.com/team/app:1", true},
		{"registry.example.com/app@sha256:" + strings.Repeat("a", 64), true},
		{"registry.example.com.evil.io/x:1", false},
		{"registry.example.computer/x", false},
		{"registry.example.com:5000/x", false},
		{"nginx", true},
		{"nginx:1.27", true},
		{"docker.io/library/nginx:1.27", true},
		{"index.docker.io/library/nginx", true},
		{"nginx-evil", false},
		{"nginxevil/x:1", false},
		{"docker.io/library/nginx-evil", false},
		{"bitnami/redis:7", true},
		{"docker.io/bitnami/redis", true},
		{"bitnamievil/redis", false},
		{"quay.io/team/app:1", true},
		{"quay.io/teamevil/app:1", false},
		{"quay.io/team", false},
	} {
		name := fmt.Sprintf("p%d", i)
		err := alice.Create(ctx, pod("reg", name, tc.image))
		switch {
		case tc.allow && err != nil:
			t.Errorf("image %q: refused: %v", tc.image, err)
		case !tc.allow && err == nil:
			t.Errorf("image %q: admitted, want refused", tc.image)
		case !tc.allow && !(apierrors.IsForbidden(err) && strings.Contains(err.Error(), tc.image) && strings.Contains(err.Error(), "not from an allowed registry")):
			t.Errorf("image %q: %v, want a denial naming the image", tc.image, err)
		}
		if err == nil {
			_ = env.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "reg", Name: name}}, client.GracePeriodSeconds(0))
		}
	}
}
