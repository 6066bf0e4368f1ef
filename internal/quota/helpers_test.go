package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// rl parses "cpu=2,pods=3" for tests.
func rl(t testing.TB, s string) corev1.ResourceList {
	t.Helper()
	l, err := ParseList(s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return l
}

// quantityEqual compares quantities by value in cmp.Diff.
var quantityEqual = cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })

// paymentsTree is
//
//	payments ── api ── api-v1
//	         ├─ batch
//	         └─ web
//	other
func paymentsTree() Tree {
	return Tree{
		"payments": "",
		"api":      "payments",
		"api-v1":   "api",
		"batch":    "payments",
		"web":      "payments",
		"other":    "",
	}
}

func hrq(ns, name, hard string, t testing.TB) Quota {
	return Quota{Kind: KindHierarchicalResourceQuota, Namespace: ns, Name: name, Hard: rl(t, hard)}
}

// errString is the error's message, "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
