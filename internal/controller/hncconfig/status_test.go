package hncconfig

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/controller/propagation"
)

func ptr(n int) *int { return &n }

func TestDesiredStatus(t *testing.T) {
	earlier := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	roles := propagation.TypeStatus{GroupResource: schema.GroupResource{Group: api.RBACGroup, Resource: "roles"}, Version: "v1", Mode: api.Propagate, Sources: 3, Propagated: 9}
	secrets := propagation.TypeStatus{GroupResource: schema.GroupResource{Resource: "secrets"}, Version: "v1", Mode: api.Remove, Sources: 2}
	forbidden := propagation.TypeStatus{GroupResource: schema.GroupResource{Resource: "configmaps"}, Version: "v1", Mode: api.Propagate, Forbidden: []string{"create", "update"}}
	missing := propagation.TypeStatus{GroupResource: schema.GroupResource{Group: "x.io", Resource: "widgets"}, Mode: api.Propagate, Err: errors.New(`resource "widgets.x.io" not found`), ErrReason: api.ReasonResourceNotFound}

	tests := []struct {
		name     string
		specErr  error
		types    []propagation.TypeStatus
		existing api.HNCConfigurationStatus
		want     api.HNCConfigurationStatus
	}{
		{
			name:  "counts; propagated only for propagating modes",
			types: []propagation.TypeStatus{roles, secrets},
			want: api.HNCConfigurationStatus{Resources: []api.ResourceStatus{
				{Group: api.RBACGroup, Version: "v1", Resource: "roles", Mode: api.Propagate, NumPropagatedObjects: ptr(9), NumSourceObjects: ptr(3)},
				{Version: "v1", Resource: "secrets", Mode: api.Remove, NumSourceObjects: ptr(2)},
			}},
		},
		{
			name:    "bad spec, unknown type and forbidden writes are conditions",
			specErr: errors.Join(errors.New("a"), errors.New("b")),
			types:   []propagation.TypeStatus{forbidden, missing},
			existing: api.HNCConfigurationStatus{Conditions: []metav1.Condition{
				{Type: api.ConditionBadTypeConfiguration, Status: metav1.ConditionTrue, Reason: api.ReasonMultipleConfigsForType, Message: "a; b", LastTransitionTime: earlier},
			}},
			want: api.HNCConfigurationStatus{
				Resources: []api.ResourceStatus{{Version: "v1", Resource: "configmaps", Mode: api.Propagate, NumPropagatedObjects: ptr(0), NumSourceObjects: ptr(0)}},
				Conditions: []metav1.Condition{
					{Type: api.ConditionBadTypeConfiguration, Status: metav1.ConditionTrue, Reason: api.ReasonMultipleConfigsForType, Message: "a; b", LastTransitionTime: earlier, ObservedGeneration: 4},
					{Type: api.ConditionBadTypeConfiguration, Status: metav1.ConditionTrue, Reason: api.ReasonResourceNotFound, Message: `resource "widgets.x.io" not found`, LastTransitionTime: now, ObservedGeneration: 4},
					{Type: api.ConditionOutOfSync, Status: metav1.ConditionTrue, Reason: ReasonWriteForbidden, Message: "The manager may not create, update configmaps: grant these verbs to Canopy's service account to propagate this type", LastTransitionTime: now, ObservedGeneration: 4},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DesiredStatus(tc.specErr, tc.types, tc.existing, 4, now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredRules(t *testing.T) {
	scope := admissionv1.NamespacedScope
	ops := []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete}
	rule := func(g, r string) admissionv1.RuleWithOperations {
		return admissionv1.RuleWithOperations{Operations: ops, Rule: admissionv1.Rule{APIGroups: []string{g}, APIVersions: []string{"*"}, Resources: []string{r}, Scope: &scope}}
	}
	got := DesiredRules([]propagation.TypeStatus{
		{GroupResource: schema.GroupResource{Resource: "secrets"}, Mode: api.Remove},
		{GroupResource: schema.GroupResource{Group: api.RBACGroup, Resource: "roles"}, Mode: api.Propagate},
		{GroupResource: schema.GroupResource{Group: "x.io", Resource: "widgets"}, Mode: api.Propagate, Err: errors.New("not found")},
		{GroupResource: schema.GroupResource{Resource: "configmaps"}, Mode: api.AllowPropagate},
	})
	want := []admissionv1.RuleWithOperations{rule("", "configmaps"), rule("", "secrets"), rule(api.RBACGroup, "roles")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}
