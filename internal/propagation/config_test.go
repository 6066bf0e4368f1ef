package propagation

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestPropagatable(t *testing.T) {
	cfg := Config{NoPropagationLabels: []LabelKV{{Key: "skip", Value: "yes"}, {Key: "empty", Value: ""}}}
	with := func(gvk schema.GroupVersionKind, name string, edit func(u *unstructured.Unstructured)) *unstructured.Unstructured {
		u := object(gvk, "src", name, nil)
		if edit != nil {
			edit(u)
		}
		return u
	}
	secretOfType := func(tp string) func(u *unstructured.Unstructured) {
		return func(u *unstructured.Unstructured) { u.Object["type"] = tp }
	}
	tests := []struct {
		name      string
		obj       *unstructured.Unstructured
		want      bool
		reasonHas string
	}{
		{name: "plain role", obj: with(roleGVK, "r", nil), want: true},
		{name: "opaque secret", obj: with(secretGVK, "s", secretOfType("Opaque")), want: true},
		{name: "finalizers", obj: with(roleGVK, "r", func(u *unstructured.Unstructured) { u.SetFinalizers([]string{"x/y"}) }), reasonHas: "finalizers"},
		{name: "service account token", obj: with(secretGVK, "s", secretOfType("kubernetes.io/service-account-token")), reasonHas: "service account token"},
		{name: "helm release", obj: with(secretGVK, "s", secretOfType("helm.sh/release.v1")), reasonHas: "Helm"},
		{name: "helm type on another group's Secret kind", obj: with(schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Secret"}, "s", secretOfType("helm.sh/release.v1")), want: true},
		{name: "kube-root-ca.crt", obj: with(cmGVK, "kube-root-ca.crt", nil), reasonHas: "kube-root-ca.crt"},
		{name: "istio-ca-root-cert", obj: with(cmGVK, "istio-ca-root-cert", nil), reasonHas: "istio-ca-root-cert"},
		{name: "other configmap", obj: with(cmGVK, "settings", nil), want: true},
		{name: "openshift object", obj: with(roleGVK, "r", func(u *unstructured.Unstructured) {
			u.SetAnnotations(map[string]string{"openshift.io/description": ""})
		}), reasonHas: "OpenShift"},
		{name: "nopropagation label", obj: with(roleGVK, "r", func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{"skip": "yes"}) }), reasonHas: "skip=yes"},
		{name: "nopropagation label, other value", obj: with(roleGVK, "r", func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{"skip": "no"}) }), want: true},
		{name: "nopropagation label with empty value", obj: with(roleGVK, "r", func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{"empty": ""}) }), reasonHas: "empty="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := cfg.Propagatable(tc.obj)
			if got != tc.want {
				t.Fatalf("Propagatable() = %v (%q), want %v", got, reason, tc.want)
			}
			if !strings.Contains(reason, tc.reasonHas) || (tc.want && reason != "") {
				t.Errorf("Propagatable() reason = %q, want one containing %q", reason, tc.reasonHas)
			}
		})
	}
}

func TestParseLabelKV(t *testing.T) {
	tests := []struct {
		in      string
		want    LabelKV
		wantErr bool
	}{
		{in: "a=b", want: LabelKV{Key: "a", Value: "b"}},
		{in: "example.com/skip=", want: LabelKV{Key: "example.com/skip", Value: ""}},
		{in: "novalue", wantErr: true},
		{in: "bad key=v", wantErr: true},
		{in: "k=bad value", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ParseLabelKV(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseLabelKV(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseLabelKV(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestIsCopy(t *testing.T) {
	u := object(roleGVK, "ns", "r", nil)
	if IsCopy(u) {
		t.Errorf("IsCopy(source) = true")
	}
	u.SetLabels(map[string]string{api.LabelInheritedFrom: "parent"})
	if !IsCopy(u) {
		t.Errorf("IsCopy(copy) = false")
	}
}
