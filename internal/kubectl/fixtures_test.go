package kubectl

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// testNow is the fixed clock the golden outputs are rendered against.
var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func event(name, reason, msg string, obj corev1.ObjectReference, ago time.Duration) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: "acme", Name: name},
		InvolvedObject: obj,
		Reason:         reason,
		Message:        msg,
		LastTimestamp:  metav1.NewTime(testNow.Add(-ago)),
	}
}

// richObjects adds to clusterObjects what describe, hrq, config and tenant
// read: anchors, events, both kinds of quota, a Tenant and the
// HNCConfiguration.
func richObjects() []client.Object {
	okAnchor := anchor("acme", "dev")
	okAnchor.Status.State = hncv1.Ok
	missingAnchor := anchor("acme", "qa")
	missingAnchor.Status.State = hncv1.Missing
	anchorRef := corev1.ObjectReference{Kind: "SubnamespaceAnchor", Namespace: "acme", Name: "qa", APIVersion: "hnc.x-k8s.io/v1alpha2"}
	podRef := corev1.ObjectReference{Kind: "Pod", Namespace: "acme", Name: "web", APIVersion: "v1"}
	tenantRef := corev1.ObjectReference{Kind: "Tenant", Name: "acme", APIVersion: "tenancy.canopy.dev/v1alpha1"}

	hrq := &hncv1.HierarchicalResourceQuota{ObjectMeta: metav1.ObjectMeta{
		Namespace: "acme", Name: "compute", CreationTimestamp: metav1.NewTime(testNow.Add(-2 * time.Hour))}}
	hrq.Status.Hard = corev1.ResourceList{"requests.cpu": resource.MustParse("4"), "limits.cpu": resource.MustParse("8"), "pods": resource.MustParse("10")}
	hrq.Status.Used = corev1.ResourceList{"requests.cpu": resource.MustParse("500m"), "pods": resource.MustParse("3")}

	hq := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{
		Namespace: "acme", Name: "acme", CreationTimestamp: metav1.NewTime(testNow.Add(-72 * time.Hour))}}
	hq.Spec.Hard = corev1.ResourceList{"requests.memory": resource.MustParse("8Gi")}
	hq.Status.RequestsSummary = "requests.memory: 1Gi/8Gi"

	fresh := &tenancyv1.HierarchicalQuota{ObjectMeta: metav1.ObjectMeta{
		Namespace: "standalone", Name: "fresh", CreationTimestamp: metav1.NewTime(testNow.Add(-30 * time.Second))}}
	fresh.Spec.Hard = corev1.ResourceList{"limits.memory": resource.MustParse("1Gi")}

	acme := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme", CreationTimestamp: metav1.NewTime(testNow.Add(-72 * time.Hour))}}
	acme.Spec.Owners = []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "ServiceAccount", Namespace: "ci", Name: "bot"}}
	acme.Spec.CostCenter = "cc-42"
	acme.Status.Namespaces = []string{"acme", "dev", "prod", "prod-eu"}
	acme.Status.Conditions = []metav1.Condition{
		{Type: "Ready", Status: "True", Reason: "Reconciled", Message: "all good"},
		{Type: "BudgetExceeded", Status: "False", Reason: "UnderBudget", Message: "42% of 1000 USD"},
	}
	acme.Status.Cost = &tenancyv1.TenantCostStatus{MonthToDate: "420.00", LastMonth: "900.10", Currency: "USD"}
	newco := &tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "newco", CreationTimestamp: metav1.NewTime(testNow.Add(-10 * time.Second))}}

	cfg := &hncv1.HNCConfiguration{ObjectMeta: metav1.ObjectMeta{Name: hncv1.HNCConfigSingleton}}
	three, one := 3, 1
	cfg.Spec.Resources = []hncv1.ResourceSpec{{Resource: "secrets", Mode: hncv1.Ignore}}
	cfg.Status.Resources = []hncv1.ResourceStatus{
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles", Mode: hncv1.Propagate, NumPropagatedObjects: &three, NumSourceObjects: &one},
		{Version: "v1", Resource: "secrets", Mode: hncv1.Ignore},
	}
	cfg.Status.Conditions = []metav1.Condition{{Type: hncv1.ConditionOutOfSync, Reason: hncv1.ReasonUnknown, Message: "restart needed"}}

	return append(clusterObjects(),
		okAnchor, missingAnchor,
		event("e1", "Missing", "namespace qa not created yet ", anchorRef, 5*time.Minute),
		event("e2", "Missing", "older duplicate", anchorRef, 9*time.Minute),
		event("e3", "Pulled", "image pulled", podRef, time.Minute),
		event("e4", "QuotaReady", "quota in place", tenantRef, 2*time.Hour),
		hrq, hq, fresh, acme, newco, cfg,
	)
}
