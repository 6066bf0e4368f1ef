package namespaces

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/internal/forest"
)

// ValidatePath is where the namespace validator is served.
const ValidatePath = "/validate-namespace"

// Request is what the validator decides on: the operation, the namespace's
// name, its old and new labels and annotations (nil for the side that does
// not exist), and whether the requester is Canopy's manager.
type Request struct {
	Op                       admissionv1.Operation
	Name                     string
	OldLabels, NewLabels     map[string]string
	OldAnnotations, NewAnnot map[string]string
	FromManager              bool
}

// Decide returns "" to allow the request or the reason to deny it. The
// caller holds the forest's lock.
//
//   - Only the manager may add, change or remove tree labels and
//     canopy.dev/in-tree, the tenant label tenancy.canopy.dev/tenant, the
//     guardrails-pending annotation, or the subnamespace-of annotation (a
//     new namespace's own depth label "0" excepted: CreationLabels).
//   - A subnamespace whose anchor exists may not be deleted directly; the
//     message tells the user to delete the anchor.
//   - A namespace with subnamespaces may not be deleted unless it or an
//     ancestor allows cascading deletion.
func Decide(f *forest.Forest, r Request) string {
	if r.FromManager {
		return ""
	}
	switch r.Op {
	case admissionv1.Create, admissionv1.Update:
		if keys := changedTreeLabels(r.OldLabels, withoutOwnDepth(r)); len(keys) > 0 {
			return fmt.Sprintf("only Canopy's manager may set or remove the labels %s on namespace %q; they describe the hierarchy, which you change through HierarchyConfigurations and SubnamespaceAnchors", strings.Join(keys, ", "), r.Name)
		}
		if ov, oo := r.OldLabels[tenancyv1.LabelTenant]; oo != hasKey(r.NewLabels, tenancyv1.LabelTenant) || ov != r.NewLabels[tenancyv1.LabelTenant] {
			return fmt.Sprintf("only Canopy's manager may set, change or remove the label %s on namespace %q; it places the namespace in a tenant (network isolation, cost, policies), which the platform team changes through Tenants", tenancyv1.LabelTenant, r.Name)
		}
		if ov, oo := r.OldAnnotations[tenantctrl.AnnotationGuardrailsPending]; oo != hasKey(r.NewAnnot, tenantctrl.AnnotationGuardrailsPending) || ov != r.NewAnnot[tenantctrl.AnnotationGuardrailsPending] {
			return fmt.Sprintf("only Canopy's manager may set or remove the annotation %s on namespace %q; it keeps workloads out until the namespace's guardrails are in place", tenantctrl.AnnotationGuardrailsPending, r.Name)
		}
		if r.OldAnnotations[api.SubnamespaceOf] != r.NewAnnot[api.SubnamespaceOf] {
			return fmt.Sprintf("the annotation %s on namespace %q is managed by Canopy and cannot be added, changed or removed", api.SubnamespaceOf, r.Name)
		}
	case admissionv1.Delete:
		ns := f.Lookup(r.Name)
		if parent := r.OldAnnotations[api.SubnamespaceOf]; parent != "" && f.Lookup(parent).HasAnchor(r.Name) {
			return fmt.Sprintf("namespace %q is a subnamespace of %q: delete its anchor instead (kubectl hns delete %s -n %s, or kubectl delete subnamespaceanchor %s -n %s)", r.Name, parent, r.Name, parent, r.Name, parent)
		}
		if subs := subnamespaces(f, ns); len(subs) > 0 && !ns.AllowsCascadingDeletion() {
			return fmt.Sprintf("namespace %q has subnamespaces (%s); set allowCascadingDeletion on it or an ancestor to delete them with it (kubectl hns set %s --allowCascadingDeletion)", r.Name, strings.Join(subs, ", "), r.Name)
		}
	}
	return ""
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// subnamespaces returns the existing subnamespaces of ns: namespaces its
// anchors name that are subnamespaces with ns as parent.
func subnamespaces(f *forest.Forest, ns *forest.Namespace) []string {
	if ns == nil {
		return nil
	}
	var out []string
	for _, nm := range ns.AnchorNames() {
		if c := f.Lookup(nm); c.Exists() && c.IsSub() && c.Parent() == ns {
			out = append(out, nm)
		}
	}
	return out
}

// withoutOwnDepth returns the request's new labels, leaving out on a create
// the namespace's own depth label with the value "0", which the mutating
// webhook sets on every included namespace it sees created
// (CreationLabels) and which names no ancestor.
func withoutOwnDepth(r Request) map[string]string {
	self := SelfDepthLabel(r.Name)
	if r.Op != admissionv1.Create || r.NewLabels[self] != "0" {
		return r.NewLabels
	}
	out := maps.Clone(r.NewLabels)
	delete(out, self)
	return out
}

// changedTreeLabels returns the sorted tree-label and in-tree keys whose
// presence or value differs between old and new.
func changedTreeLabels(old, cur map[string]string) []string {
	keys := map[string]bool{}
	for _, m := range []map[string]string{old, cur} {
		for k := range m {
			if k == forest.LabelInTree || strings.HasSuffix(k, api.LabelTreeDepthSuffix) {
				keys[k] = true
			}
		}
	}
	var out []string
	for k := range keys {
		ov, oo := old[k]
		nv, no := cur[k]
		if oo != no || ov != nv {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
