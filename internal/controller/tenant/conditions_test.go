package tenant

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

type condSummary struct {
	Type   string
	Status metav1.ConditionStatus
	Reason string
}

func summarize(cs []metav1.Condition) []condSummary {
	out := make([]condSummary, len(cs))
	for i, c := range cs {
		out[i] = condSummary{c.Type, c.Status, c.Reason}
	}
	return out
}

func TestConditions(t *testing.T) {
	T, F := metav1.ConditionTrue, metav1.ConditionFalse
	tests := []struct {
		name    string
		o       Outcome
		want    []condSummary
		message string // substring of Ready's message
	}{
		{"converged", Outcome{HasQuota: true}, []condSummary{
			{tenancyv1.ConditionReady, T, ReasonReconciled}, {tenancyv1.ConditionNamespacesReady, T, ReasonReconciled},
			{tenancyv1.ConditionRBACReady, T, ReasonReconciled}, {tenancyv1.ConditionQuotaReady, T, ReasonReconciled},
			{tenancyv1.ConditionPoliciesReady, T, ReasonReconciled},
		}, "converged"},
		{"no quota", Outcome{}, []condSummary{
			{tenancyv1.ConditionReady, T, ReasonReconciled}, {tenancyv1.ConditionNamespacesReady, T, ReasonReconciled},
			{tenancyv1.ConditionRBACReady, T, ReasonReconciled}, {tenancyv1.ConditionQuotaReady, T, ReasonNoQuota},
			{tenancyv1.ConditionPoliciesReady, T, ReasonReconciled},
		}, "converged"},
		{"kept namespace names it and what it holds", Outcome{HasQuota: true, Kept: []Holding{{Namespace: "payments-batch", Kinds: []string{"pods"}}}}, []condSummary{
			{tenancyv1.ConditionReady, F, ReasonNamespaceHolds}, {tenancyv1.ConditionNamespacesReady, F, ReasonNamespaceHolds},
			{tenancyv1.ConditionRBACReady, T, ReasonReconciled}, {tenancyv1.ConditionQuotaReady, T, ReasonReconciled},
			{tenancyv1.ConditionPoliciesReady, T, ReasonReconciled},
		}, "payments-batch (holds pods)"},
		{"pending namespaces", Outcome{Missing: []string{"a"}}, []condSummary{
			{tenancyv1.ConditionReady, F, ReasonNotReady}, {tenancyv1.ConditionNamespacesReady, F, ReasonPending},
			{tenancyv1.ConditionRBACReady, T, ReasonReconciled}, {tenancyv1.ConditionQuotaReady, T, ReasonNoQuota},
			{tenancyv1.ConditionPoliciesReady, T, ReasonReconciled},
		}, "waiting for namespaces: a"},
		{"apply failures", Outcome{RBACErr: "boom", PoliciesErr: "bang"}, []condSummary{
			{tenancyv1.ConditionReady, F, ReasonNotReady}, {tenancyv1.ConditionNamespacesReady, T, ReasonReconciled},
			{tenancyv1.ConditionRBACReady, F, ReasonApplyFailed}, {tenancyv1.ConditionQuotaReady, T, ReasonNoQuota},
			{tenancyv1.ConditionPoliciesReady, F, ReasonApplyFailed},
		}, "RBACReady: boom; PoliciesReady: bang"},
		{"deletion blocked", Outcome{DeletionBlocked: []Holding{{Namespace: "x", Kinds: []string{"pods", "deployments"}}}}, []condSummary{
			{tenancyv1.ConditionReady, F, ReasonDeletionBlocked}, {tenancyv1.ConditionNamespacesReady, T, ReasonReconciled},
			{tenancyv1.ConditionRBACReady, T, ReasonReconciled}, {tenancyv1.ConditionQuotaReady, T, ReasonNoQuota},
			{tenancyv1.ConditionPoliciesReady, T, ReasonReconciled},
		}, "x (holds pods, deployments)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Conditions(tc.o, 7)
			if d := cmp.Diff(tc.want, summarize(got)); d != "" {
				t.Errorf("conditions (-want +got):\n%s", d)
			}
			for _, c := range got {
				if c.ObservedGeneration != 7 {
					t.Errorf("%s observedGeneration = %d", c.Type, c.ObservedGeneration)
				}
			}
			if !strings.Contains(got[0].Message, tc.message) {
				t.Errorf("Ready message %q lacks %q", got[0].Message, tc.message)
			}
		})
	}
}

func TestMergeConditionsKeepsTransitionTimesAndForeignTypes(t *testing.T) {
	then := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(then.Add(time.Hour))
	existing := []metav1.Condition{
		{Type: tenancyv1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonReconciled, Message: "m", ObservedGeneration: 1, LastTransitionTime: then},
		{Type: tenancyv1.ConditionCostAvailable, Status: metav1.ConditionTrue, Reason: "X", LastTransitionTime: then},
	}
	tests := []struct {
		name        string
		desired     []metav1.Condition
		wantChanged bool
		wantTime    metav1.Time
	}{
		{"unchanged", []metav1.Condition{{Type: tenancyv1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonReconciled, Message: "m", ObservedGeneration: 1}}, false, then},
		{"flipped", []metav1.Condition{{Type: tenancyv1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonNotReady, Message: "m", ObservedGeneration: 1}}, true, now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := MergeConditions(existing, tc.desired, now)
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if len(got) != 1 || got[0].Type != tenancyv1.ConditionReady {
				t.Fatalf("got %v, want only Ready (CostAvailable belongs to canopy-cost)", got)
			}
			if !got[0].LastTransitionTime.Equal(&tc.wantTime) {
				t.Errorf("lastTransitionTime = %v, want %v", got[0].LastTransitionTime, tc.wantTime)
			}
		})
	}
}

func TestStatusApply(t *testing.T) {
	tn := payments()
	conds := Conditions(Outcome{HasQuota: true}, tn.Generation)
	u, changed, err := StatusApply(tn, []string{"payments-api", "payments"}, conds, metav1.Now())
	if err != nil || !changed {
		t.Fatalf("first apply: changed=%v err=%v", changed, err)
	}
	if got, _, _ := unstructuredStrings(u.Object, "status", "namespaces"); !cmp.Equal(got, []string{"payments", "payments-api"}) {
		t.Errorf("status.namespaces = %v", got)
	}
	if _, ok := u.Object["spec"]; ok {
		t.Errorf("status apply carries spec: %v", u.Object)
	}
	// Once written, the same status is not written again.
	tn.Status = tenancyv1.TenantStatus{ObservedGeneration: tn.Generation, Namespaces: []string{"payments", "payments-api"}}
	tn.Status.Conditions, _ = MergeConditions(nil, conds, metav1.Now())
	if _, changed, _ := StatusApply(tn, []string{"payments-api", "payments"}, conds, metav1.Now()); changed {
		t.Error("an unchanged status is written again")
	}
}

func unstructuredStrings(obj map[string]any, fields ...string) ([]string, bool, error) {
	cur := any(obj)
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[f]
	}
	l, ok := cur.([]any)
	if !ok {
		return nil, false, nil
	}
	out := make([]string, len(l))
	for i, v := range l {
		out[i], _ = v.(string)
	}
	return out, true, nil
}

func TestSamples(t *testing.T) {
	tn := tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: tenancyv1.TenantStatus{
		Namespaces: []string{"p", "p-a"},
		Conditions: []metav1.Condition{{Type: tenancyv1.ConditionReady, Status: metav1.ConditionFalse}},
	}}
	want := []Sample{
		{Tenant: "p", Value: 2},
		{Tenant: "p", Condition: "Ready", Status: "True", Value: 0},
		{Tenant: "p", Condition: "Ready", Status: "False", Value: 1},
		{Tenant: "p", Condition: "Ready", Status: "Unknown", Value: 0},
	}
	if d := cmp.Diff(want, Samples([]tenancyv1.Tenant{tn})); d != "" {
		t.Errorf("samples (-want +got):\n%s", d)
	}
}
