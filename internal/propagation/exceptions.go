package propagation

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// exceptionKeys are the annotations that restrict or widen propagation.
var exceptionKeys = []string{api.AnnotationSelector, api.AnnotationTreeSelector, api.AnnotationNoneSelector, api.AnnotationAllSelector}

// Exception is the parsed propagation exception of a source object. The zero
// Exception means "no annotation": the mode alone decides.
type Exception struct {
	// Annotation is the exception annotation present, or "".
	Annotation string
	// selector is set for select and treeSelect.
	selector labels.Selector
	// none and all hold the values of the boolean annotations.
	none, all bool
}

// ParseException reads the exception annotations of an object. An
// annotation with an empty value counts as absent. It is an error to use
// more than one, to use an unknown propagate.hnc.x-k8s.io/ key, or to give
// one a value it cannot parse; the error names the annotation.
func ParseException(annotations map[string]string) (Exception, error) {
	var present []string
	for k, v := range annotations {
		if !strings.HasPrefix(k, api.AnnotationPropagatePrefix+"/") {
			continue
		}
		known := false
		for _, ek := range exceptionKeys {
			known = known || k == ek
		}
		if !known {
			return Exception{}, fmt.Errorf("unknown propagation annotation %q: use one of %s", k, strings.Join(exceptionKeys, ", "))
		}
		if v != "" {
			present = append(present, k)
		}
	}
	switch len(present) {
	case 0:
		return Exception{}, nil
	case 1:
	default:
		sort.Strings(present)
		return Exception{}, fmt.Errorf("only one propagation exception annotation is allowed, found %s", strings.Join(present, ", "))
	}

	key := present[0]
	value := annotations[key]
	ex := Exception{Annotation: key}
	var err error
	switch key {
	case api.AnnotationSelector:
		ex.selector, err = labels.Parse(value)
	case api.AnnotationTreeSelector:
		ex.selector, err = parseTreeSelector(value)
	case api.AnnotationNoneSelector:
		ex.none, err = strconv.ParseBool(value)
	case api.AnnotationAllSelector:
		ex.all, err = strconv.ParseBool(value)
	}
	if err != nil {
		return Exception{}, fmt.Errorf("parsing annotation %s=%q: %w", key, value, err)
	}
	return ex, nil
}

// parseTreeSelector turns "a, !b, !c" into a selector on tree labels: the
// namespace must be a (or below it) and must not be b or c (or below them).
// As in HNC, at most one name may be given without "!": a second positive
// name almost never means what its author intended.
func parseTreeSelector(value string) (labels.Selector, error) {
	sel := labels.NewSelector()
	var positive []string
	for _, seg := range strings.Split(value, ",") {
		seg = strings.TrimSpace(seg)
		name, negated := strings.CutPrefix(seg, "!")
		name = strings.TrimSpace(name)
		if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
			return nil, fmt.Errorf("%q is not a valid namespace name: %s", name, strings.Join(msgs, "; "))
		}
		op := selection.Exists
		if negated {
			op = selection.DoesNotExist
		} else {
			positive = append(positive, name)
		}
		req, err := labels.NewRequirement(name+api.LabelTreeDepthSuffix, op, nil)
		if err != nil {
			return nil, fmt.Errorf("namespace %q: %w", name, err)
		}
		sel = sel.Add(*req)
	}
	if len(positive) > 1 {
		return nil, fmt.Errorf("at most one namespace may be selected without '!', got %s", strings.Join(positive, ", "))
	}
	return sel, nil
}

// Decide applies the exception to a destination namespace whose labels
// (tree labels included) are destLabels, for a type in the given mode.
//
//   - Only Propagate and AllowPropagate ever copy.
//   - none: "true" never copies.
//   - select and treeSelect copy exactly where they match, in both modes.
//   - all: "true" copies everywhere, in both modes.
//   - Otherwise Propagate copies and AllowPropagate does not.
func (e Exception) Decide(mode api.SynchronizationMode, destLabels labels.Set) bool {
	switch {
	case !Propagates(mode), e.none:
		return false
	case e.selector != nil:
		return e.selector.Matches(destLabels)
	case e.all:
		return true
	default:
		return mode == api.Propagate
	}
}

// ShouldPropagateTo decides whether src, of a type in the given mode, is
// copied into destNamespace, whose labels are destLabels (the Namespace
// object's labels, which include its tree labels; the destination's own
// depth-0 tree label is added if missing). An unparsable exception is an
// error and the answer is false. It does not check Config.Propagatable.
func ShouldPropagateTo(src *unstructured.Unstructured, mode api.SynchronizationMode, destNamespace string, destLabels map[string]string) (bool, error) {
	ex, err := ParseException(src.GetAnnotations())
	if err != nil {
		return false, fmt.Errorf("object %s/%s: %w", src.GetNamespace(), src.GetName(), err)
	}
	set := labels.Set(destLabels)
	if own := destNamespace + api.LabelTreeDepthSuffix; !set.Has(own) {
		set = labels.Merge(set, labels.Set{own: "0"})
	}
	return ex.Decide(mode, set), nil
}
