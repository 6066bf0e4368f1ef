package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestArithmetic(t *testing.T) {
	tests := []struct {
		name string
		got  func() corev1.ResourceList
		want string
	}{
		{"add over the union", func() corev1.ResourceList { return Add(rl(t, "cpu=1,pods=2"), rl(t, "pods=3,memory=1Gi")) }, "cpu=1,memory=1Gi,pods=5"},
		{"add to nil", func() corev1.ResourceList { return Add(nil, rl(t, "pods=1")) }, "pods=1"},
		{"subtract may go negative", func() corev1.ResourceList { return Subtract(rl(t, "pods=2"), rl(t, "pods=3,cpu=500m")) }, "cpu=-500m,pods=-1"},
		{"max per name", func() corev1.ResourceList { return Max(rl(t, "pods=2,cpu=3"), rl(t, "pods=5,memory=1")) }, "cpu=3,memory=1,pods=5"},
		{"mask keeps the named", func() corev1.ResourceList { return Mask(rl(t, "pods=2,cpu=3"), rl(t, "cpu=0,memory=1")) }, "cpu=3"},
		{"normalize bare names", func() corev1.ResourceList {
			return Normalize(rl(t, "cpu=1,memory=2Gi,ephemeral-storage=1Gi,pods=1"))
		}, "pods=1,requests.cpu=1,requests.ephemeral-storage=1Gi,requests.memory=2Gi"},
		{"normalize prefers requests.*", func() corev1.ResourceList { return Normalize(rl(t, "cpu=1,requests.cpu=2")) }, "requests.cpu=2"},
	}
	for _, tc := range tests {
		if got := String(tc.got()); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestArithmeticDoesNotModifyInputs(t *testing.T) {
	a, b := rl(t, "pods=1"), rl(t, "pods=2")
	Add(a, b)
	Subtract(a, b)
	Max(a, b)
	if String(a) != "pods=1" || String(b) != "pods=2" {
		t.Errorf("inputs changed: a=%s b=%s", String(a), String(b))
	}
}

func TestExceedingAndEqual(t *testing.T) {
	if diff := cmp.Diff([]corev1.ResourceName{"cpu", "pods"}, Exceeding(rl(t, "pods=3,cpu=2,memory=9"), rl(t, "pods=2,cpu=1,limits.cpu=0"))); diff != "" {
		t.Errorf("Exceeding (-want +got):\n%s", diff)
	}
	if Exceeding(rl(t, "pods=2"), rl(t, "pods=2")) != nil {
		t.Errorf("Exceeding reported a name at its limit")
	}
	if !Equal(rl(t, "cpu=1000m,pods=0"), rl(t, "cpu=1")) {
		t.Errorf("Equal(cpu=1000m,pods=0; cpu=1) = false, want true")
	}
	if Equal(rl(t, "cpu=1"), rl(t, "cpu=1,pods=1")) {
		t.Errorf("Equal(cpu=1; cpu=1,pods=1) = true, want false")
	}
}

func TestStringParseList(t *testing.T) {
	for _, s := range []string{"", "pods=3", "count/deployments.apps=2,requests.nvidia.com/gpu=1,requests.cpu=1500m"} {
		l, err := ParseList(s)
		if err != nil {
			t.Fatalf("ParseList(%q): %v", s, err)
		}
		back, err := ParseList(String(l))
		if err != nil || !Equal(l, back) {
			t.Errorf("ParseList(String(%q)) = %v, %v; want the same list", s, back, err)
		}
	}
	if got := String(rl(t, "pods=3,cpu=2")); got != "cpu=2,pods=3" {
		t.Errorf("String = %q, want sorted cpu=2,pods=3", got)
	}
	for _, bad := range []string{"pods", "=1", "pods=x", "pods=1,"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) succeeded, want an error", bad)
		}
	}
}

func TestGrows(t *testing.T) {
	tests := []struct {
		prev, next string
		want       bool
	}{
		{"pods=1", "pods=1", false},
		{"pods=2", "pods=1", false},
		{"pods=1", "pods=2", true},
		{"", "pods=1", true},
		{"pods=1,cpu=2", "pods=0,cpu=3", true},
		{"pods=1,cpu=2", "pods=0", false},
	}
	for _, tc := range tests {
		if got := Grows(rl(t, tc.prev), rl(t, tc.next)); got != tc.want {
			t.Errorf("Grows(%q, %q) = %v, want %v", tc.prev, tc.next, got, tc.want)
		}
	}
}
