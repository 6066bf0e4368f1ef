package propagation

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// ArgoCDTrackingID is stripped from copies by default: Argo CD would
// otherwise adopt every copy as part of the source's application.
const ArgoCDTrackingID = "argocd.argoproj.io/tracking-id"

// LabelKV is one --nopropagation-label entry.
type LabelKV struct {
	Key, Value string
}

// ParseLabelKV parses a "key=value" --nopropagation-label flag value.
func ParseLabelKV(s string) (LabelKV, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return LabelKV{}, fmt.Errorf("parsing --nopropagation-label %q: want key=value", s)
	}
	if msgs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(msgs) > 0 {
		return LabelKV{}, fmt.Errorf("parsing --nopropagation-label %q: %s", s, strings.Join(msgs, "; "))
	}
	return LabelKV{Key: k, Value: v}, nil
}

// Config holds the administrator's propagation settings.
type Config struct {
	// NoPropagationLabels: an object carrying any of these labels with that
	// exact value is never copied (--nopropagation-label).
	NoPropagationLabels []LabelKV
	// UnpropagatedAnnotations and UnpropagatedLabels are removed from copies
	// (--unpropagated-annotation, --unpropagated-label).
	UnpropagatedAnnotations []string
	UnpropagatedLabels      []string
}

// DefaultConfig strips ArgoCDTrackingID from copies and nothing else.
func DefaultConfig() Config {
	return Config{UnpropagatedAnnotations: []string{ArgoCDTrackingID}}
}

// Objects HNC never propagates, whatever the mode.
const (
	secretTypeServiceAccountToken = "kubernetes.io/service-account-token"
	secretTypeHelmRelease         = "helm.sh/release.v1"
	// annotationOpenShiftDescription marks objects OpenShift creates in
	// every project; HNC skips them.
	annotationOpenShiftDescription = "openshift.io/description"
)

// neverPropagatedConfigMaps are the CA bundles Kubernetes and Istio write
// into every namespace themselves.
var neverPropagatedConfigMaps = map[string]bool{"kube-root-ca.crt": true, "istio-ca-root-cert": true}

// Propagatable reports whether obj may ever be copied to descendants and, if
// not, why. It is independent of the destination and of exceptions.
func (c Config) Propagatable(obj *unstructured.Unstructured) (bool, string) {
	gvk := obj.GroupVersionKind()
	core := gvk.Group == ""
	switch {
	case len(obj.GetFinalizers()) > 0:
		return false, "objects with finalizers cannot be propagated"
	case core && gvk.Kind == "Secret" && secretType(obj) == secretTypeServiceAccountToken:
		return false, "service account token secrets are not propagated"
	case core && gvk.Kind == "Secret" && secretType(obj) == secretTypeHelmRelease:
		return false, "Helm release secrets are not propagated"
	case core && gvk.Kind == "ConfigMap" && neverPropagatedConfigMaps[obj.GetName()]:
		return false, fmt.Sprintf("ConfigMap %q is created in every namespace by the cluster", obj.GetName())
	}
	if _, ok := obj.GetAnnotations()[annotationOpenShiftDescription]; ok {
		return false, "objects annotated " + annotationOpenShiftDescription + " are created by OpenShift and not propagated"
	}
	lbls := obj.GetLabels()
	for _, np := range c.NoPropagationLabels {
		if v, ok := lbls[np.Key]; ok && v == np.Value {
			return false, fmt.Sprintf("objects labelled %s=%s are not propagated", np.Key, np.Value)
		}
	}
	return true, ""
}

func secretType(obj *unstructured.Unstructured) string {
	t, _ := obj.Object["type"].(string)
	return t
}

// IsCopy reports whether obj is a propagated copy (it carries the
// hnc.x-k8s.io/inherited-from label) rather than a source.
func IsCopy(obj *unstructured.Unstructured) bool {
	_, ok := obj.GetLabels()[api.LabelInheritedFrom]
	return ok
}
