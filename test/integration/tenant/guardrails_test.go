package tenant

import (
	"context"
	"fmt"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// TestGuardrails has a team lead create violating pods, workloads, PVCs
// and ingresses; the API server's admission policies deny each with a
// message naming the allowed values.
func TestGuardrails(t *testing.T) {
	ctx := context.Background()
	createTenant(t, &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "gr"},
		Spec: tenancyv1.TenantSpec{
			Owners:     []rbacv1.Subject{group("gr-leads")},
			Namespaces: []tenancyv1.TenantNamespace{{Name: "gr-app"}},
			Policies: &tenancyv1.TenantPolicies{
				AllowedRegistries:     []string{"registry.example.com/gr/"},
				AllowedStorageClasses: []string{"standard"},
				AllowedIngressClasses: []string{"internal"},
				NodeSelector:          map[string]string{"pool": "gr"},
			},
		},
	})
	waitReady(t, "gr")
	waitNamespaceLabel(t, "gr-app", tenancyv1.LabelTenant, "gr")
	waitOpen(t, "gr-app")
	c := lead(t, "gr-lead", "gr-leads")
	const good = "registry.example.com/gr/app:1"

	// The policies are live once a violating pod is denied and a compliant
	// one comes back with the node selector: the API server picks up the
	// validating and the mutating policy independently.
	eventually(t, wait, func(ctx context.Context) error {
		err := c.Create(ctx, pod("gr-app", "probe", "docker.io/evil"), client.DryRunAll)
		if err == nil {
			return fmt.Errorf("violating pod admitted: policy not active yet")
		}
		probe := pod("gr-app", "probe", good)
		if err := c.Create(ctx, probe, client.DryRunAll); err != nil {
			return fmt.Errorf("compliant probe pod: %w", err)
		}
		if probe.Spec.NodeSelector["pool"] != "gr" {
			return fmt.Errorf("node selector not injected yet: mutating policy not active")
		}
		return nil
	})

	withInit := func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "quay.io/other/init"}}
	}
	withNodeName := func(p *corev1.Pod) { p.Spec.NodeName = "node-1" }
	withSelector := func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"pool": "shared"} }
	labels := map[string]string{"app": "x"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gr-app", Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "docker.io/nginx"}}},
			},
		},
	}
	storage := func(class string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: "gr-app", Name: "data-" + class},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: &class,
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("1Gi")}},
			},
		}
	}
	ingress := func(class string) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: "gr-app", Name: "in-" + class},
			Spec: networkingv1.IngressSpec{
				IngressClassName: &class,
				DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80},
				}},
			},
		}
	}
	statefulSet := func(name string, classes ...string) *appsv1.StatefulSet {
		ss := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: "gr-app", Name: name},
			Spec: appsv1.StatefulSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: good}}},
				},
			},
		}
		for i, class := range classes {
			ss.Spec.VolumeClaimTemplates = append(ss.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("vol-%d-%s", i, class)},
				Spec:       storage(class).Spec,
			})
		}
		return ss
	}
	evilTemplate := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "app", Image: "docker.io/evil"}},
		},
	}
	always := evilTemplate.DeepCopy()
	always.Spec.RestartPolicy = corev1.RestartPolicyAlways
	evilSet := statefulSet("db-evil")
	evilSet.Spec.Template = *always
	daemonSet := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gr-app", Name: "agent"},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: *always},
	}
	jobTemplate := evilTemplate.DeepCopy()
	jobTemplate.Labels = nil
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gr-app", Name: "once"},
		Spec:       batchv1.JobSpec{Template: *jobTemplate},
	}
	cronJob := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gr-app", Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: *jobTemplate},
		}},
	}
	denied := []struct {
		name  string
		obj   client.Object
		wants []string
	}{
		{"pod from another registry", pod("gr-app", "bad", "docker.io/evil"), []string{"docker.io/evil", "not from an allowed registry", "registry.example.com/gr/"}},
		{"init container from another registry", pod("gr-app", "bad-init", good, withInit), []string{"quay.io/other/init", "not from an allowed registry"}},
		{"deployment template from another registry", deploy, []string{"docker.io/nginx", "not from an allowed registry"}},
		{"statefulset template from another registry", evilSet, []string{"docker.io/evil", "not from an allowed registry"}},
		{"daemonset template from another registry", daemonSet, []string{"docker.io/evil", "not from an allowed registry"}},
		{"job template from another registry", job, []string{"docker.io/evil", "not from an allowed registry"}},
		{"cronjob template from another registry", cronJob, []string{"docker.io/evil", "not from an allowed registry"}},
		{"pvc with another storage class", storage("fast"), []string{"spec.storageClassName must be one of: standard"}},
		{"statefulset claim template with another storage class", statefulSet("db-fast", "standard", "fast"),
			[]string{"tenant gr: spec.volumeClaimTemplates vol-1-fast must set spec.storageClassName to one of: standard"}},
		{"ingress with another class", ingress("public"), []string{"spec.ingressClassName must be one of: internal"}},
		{"pod with nodeName", pod("gr-app", "pinned", good, withNodeName), []string{"spec.nodeName may not be set", "pool=gr"}},
		{"pod contradicting the node selector", pod("gr-app", "elsewhere", good, withSelector), []string{"contradicts the tenant's node selector pool=gr"}},
	}
	for _, tc := range denied {
		t.Run(tc.name, func(t *testing.T) {
			expectDenied(t, tc.name, c.Create(ctx, tc.obj), tc.wants...)
		})
	}

	// Compliant objects are admitted, and pods get the node selector.
	ok := pod("gr-app", "good", good)
	if err := c.Create(ctx, ok); err != nil {
		t.Fatalf("compliant pod denied: %v", err)
	}
	if got := ok.Spec.NodeSelector["pool"]; got != "gr" {
		t.Errorf("pod nodeSelector = %v, want pool=gr injected by the MutatingAdmissionPolicy", ok.Spec.NodeSelector)
	}
	// An ephemeral container added to a running pod is checked too.
	// Kubernetes' admin role does not grant pods/ephemeralcontainers, so a
	// team lead cannot add one at all; the platform team can, and the
	// policy holds for it as for anyone in the tenant's namespaces.
	expectDenied(t, "lead adds an ephemeral container", c.SubResource("ephemeralcontainers").Update(ctx, ok.DeepCopy()), "forbidden")
	debug := ok.DeepCopy()
	debug.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "docker.io/busybox",
	}}}
	expectDenied(t, "ephemeral container from another registry", admin(t).SubResource("ephemeralcontainers").Update(ctx, debug),
		"docker.io/busybox", "not from an allowed registry")
	for _, obj := range []client.Object{storage("standard"), ingress("internal"), statefulSet("db", "standard")} {
		if err := c.Create(ctx, obj); err != nil {
			t.Errorf("compliant %T denied: %v", obj, err)
		}
	}
	// Outside the tenant nothing is enforced.
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gr-outside"}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, pod("gr-outside", "free", "docker.io/evil")); err != nil {
		t.Errorf("pod outside the tenant denied: %v", err)
	}
	waitObject(t, &admissionv1.MutatingAdmissionPolicy{}, "", tenantctrl.ClusterName("gr"), nil)
}
