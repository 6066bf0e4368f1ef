// Package namespaces holds Canopy's admission webhooks for Namespace
// objects. Each webhook is a thin Handle around a pure decision function.
package namespaces

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/forest"
)

// MutatePath is where the namespace mutator is served.
const MutatePath = "/mutate-namespace"

// SelfDepthLabel is the tree label every included namespace carries for
// itself, with the value "0" (HNC's <name>.tree.hnc.x-k8s.io/depth).
func SelfDepthLabel(name string) string { return name + hncv1.LabelTreeDepthSuffix }

// CreationLabels returns a new namespace's labels as IncludedLabels does,
// with an included namespace's own depth label added: the label the
// hierarchy reconciler would otherwise write in a patch of its own, often
// just before it writes the ancestry once the namespace's
// HierarchyConfiguration arrives. Its ancestors' labels stay the
// reconciler's to write.
func CreationLabels(cfg forest.Config, name string, labels map[string]string) (map[string]string, bool) {
	out, changed := IncludedLabels(cfg, name, labels)
	if cfg.IsExcluded(name) || out[SelfDepthLabel(name)] == "0" {
		return out, changed
	}
	if !changed {
		out = maps.Clone(out)
		if out == nil {
			out = map[string]string{}
		}
	}
	out[SelfDepthLabel(name)] = "0"
	return out, true
}

// IncludedLabels returns the namespace's labels with HNC's
// included-namespace label set or removed, and whether anything changed.
func IncludedLabels(cfg forest.Config, name string, labels map[string]string) (map[string]string, bool) {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	if !cfg.IsExcluded(name) {
		if labels[hncv1.LabelIncludedNamespace] == "true" {
			return labels, false
		}
		out[hncv1.LabelIncludedNamespace] = "true"
		return out, true
	}
	if _, ok := labels[hncv1.LabelIncludedNamespace]; !ok {
		return labels, false
	}
	delete(out, hncv1.LabelIncludedNamespace)
	return out, true
}

// The mutator fails open (Ignore): it runs on every namespace in the
// cluster, and a manager outage must never block namespaces outside
// Canopy's trees. The hierarchy reconciler writes the same label, so a
// namespace created during an outage is labelled once Canopy is back.
// +kubebuilder:webhook:path=/mutate-namespace,mutating=true,failurePolicy=ignore,sideEffects=None,groups="",resources=namespaces,verbs=create;update,versions=v1,name=namespaces.mutate.hnc.x-k8s.io,admissionReviewVersions=v1,timeoutSeconds=5

type mutator struct {
	forest  *forest.Forest
	decoder admission.Decoder
}

// Handle labels included namespaces (and, on creation, with their own
// depth label: CreationLabels).
func (m *mutator) Handle(ctx context.Context, req admission.Request) admission.Response {
	ns := &corev1.Namespace{}
	if err := m.decoder.Decode(req, ns); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	labels, changed := IncludedLabels(m.forest.Config(), ns.Name, ns.Labels)
	if req.Operation == admissionv1.Create {
		labels, changed = CreationLabels(m.forest.Config(), ns.Name, ns.Labels)
	}
	if !changed {
		return admission.Allowed("")
	}
	ns.Labels = labels
	raw, err := json.Marshal(ns)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Labelled namespace", "namespace", ns.Name)
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// Register serves the namespace webhooks on the manager's webhook server.
func Register(mgr ctrl.Manager, f *forest.Forest) {
	mgr.GetWebhookServer().Register(MutatePath, &webhook.Admission{Handler: &mutator{forest: f, decoder: admission.NewDecoder(mgr.GetScheme())}})
}
