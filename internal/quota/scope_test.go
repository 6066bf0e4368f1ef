package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestScopeKey(t *testing.T) {
	req := func(name corev1.ResourceQuotaScope, op corev1.ScopeSelectorOperator, vals ...string) corev1.ScopedResourceSelectorRequirement {
		return corev1.ScopedResourceSelectorRequirement{ScopeName: name, Operator: op, Values: vals}
	}
	tests := []struct {
		name string
		sel  *corev1.ScopeSelector
		want string
		// parsed is what ParseScopeKey gives back, when it differs from sel.
		parsed *corev1.ScopeSelector
	}{
		{name: "nil is unscoped", sel: nil, want: ""},
		{name: "empty is unscoped", sel: &corev1.ScopeSelector{}, want: "", parsed: nil},
		{
			name: "one requirement",
			sel:  &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{req("PriorityClass", "In", "high")}},
			want: "PriorityClass In (high)",
		},
		{
			name: "sorted and deduplicated",
			sel: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				req("Terminating", "Exists"),
				req("PriorityClass", "NotIn", "low", "high", "low"),
				req("Terminating", "Exists"),
			}},
			want: "PriorityClass NotIn (high,low); Terminating Exists",
			parsed: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				req("PriorityClass", "NotIn", "high", "low"),
				req("Terminating", "Exists"),
			}},
		},
		{
			name: "values with separators are escaped",
			sel:  &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{req("PriorityClass", "In", "a,b; c (d)")}},
			want: "PriorityClass In (a%2Cb%3B+c+%28d%29)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ScopeKey(tc.sel)
			if got != tc.want {
				t.Errorf("ScopeKey = %q, want %q", got, tc.want)
			}
			back, err := ParseScopeKey(got)
			if err != nil {
				t.Fatalf("ParseScopeKey(%q): %v", got, err)
			}
			want := tc.sel
			if tc.parsed != nil || (tc.sel != nil && len(tc.sel.MatchExpressions) == 0) {
				want = tc.parsed
			}
			if diff := cmp.Diff(want, back); diff != "" {
				t.Errorf("ParseScopeKey(%q) (-want +got):\n%s", got, diff)
			}
		})
	}
}

func TestParseScopeKeyErrors(t *testing.T) {
	for _, key := range []string{"PriorityClass", "PriorityClass In (high", "PriorityClass In ()", "PriorityClass In (%zz)"} {
		if sel, err := ParseScopeKey(key); err == nil {
			t.Errorf("ParseScopeKey(%q) = %v, want an error", key, sel)
		}
	}
}

func TestSingletonName(t *testing.T) {
	if got := SingletonName(""); got != "hrq.hnc.x-k8s.io" {
		t.Errorf("SingletonName(\"\") = %q", got)
	}
	a, b := SingletonName(highPriority), SingletonName("PriorityClass In (low)")
	if a == b || a != SingletonName(highPriority) || len(a) > 63 {
		t.Errorf("scoped singleton names %q and %q are not distinct, stable and short", a, b)
	}
}
