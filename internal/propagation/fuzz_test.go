package propagation

import (
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// treeSelectModel is an independent reading of a treeSelect value: every
// comma-separated name must be a namespace name, at most one without '!';
// a destination matches when it is under every positive name and under no
// negated one.
func treeSelectModel(value string, under map[string]bool) (match bool, ok bool) {
	positives := 0
	match = true
	for _, seg := range strings.Split(value, ",") {
		name, negated := strings.CutPrefix(strings.TrimSpace(seg), "!")
		name = strings.TrimSpace(name)
		if len(validation.IsDNS1123Label(name)) > 0 {
			return false, false
		}
		if !negated {
			positives++
		}
		if under[name] == negated {
			match = false
		}
	}
	return match, positives <= 1
}

// FuzzPropagationExceptions feeds arbitrary exception annotations and
// destinations to ShouldPropagateTo and checks it against the rules it
// implements: an unparsable exception never propagates and says so; only
// Propagate and AllowPropagate copy; none=true never copies; treeSelect
// agrees with an independent model of its syntax and meaning; a copy is
// never decided for a destination a treeSelect excludes by name.
func FuzzPropagationExceptions(f *testing.F) {
	f.Add(uint8(1), "child, !child-a", "child-a1", "root,child,child-a")
	f.Add(uint8(1), "!child", "child", "root,child")
	f.Add(uint8(0), "team in (a,b)", "ns", "root")
	f.Add(uint8(2), "true", "ns", "root")
	f.Add(uint8(3), "false", "ns", "root")
	f.Add(uint8(1), "a,b", "x", "a,b")
	f.Add(uint8(4), "x", "ns", "")
	f.Fuzz(func(t *testing.T, which uint8, value, dest, ancestors string) {
		keys := []string{api.AnnotationSelector, api.AnnotationTreeSelector, api.AnnotationNoneSelector, api.AnnotationAllSelector, api.AnnotationPropagatePrefix + "/bogus"}
		key := keys[int(which)%len(keys)]
		src := &unstructured.Unstructured{Object: map[string]any{}}
		src.SetNamespace("root")
		src.SetName("obj")
		src.SetAnnotations(map[string]string{key: value})
		labels := map[string]string{}
		under := map[string]bool{dest: true}
		for _, a := range strings.Split(ancestors, ",") {
			if a = strings.TrimSpace(a); len(validation.IsDNS1123Label(a)) == 0 {
				labels[a+api.LabelTreeDepthSuffix] = "1"
				under[a] = true
			}
		}
		for _, mode := range []api.SynchronizationMode{api.Propagate, api.AllowPropagate, api.Remove, api.Ignore} {
			got, err := ShouldPropagateTo(src, mode, dest, labels)
			if err != nil && got {
				t.Fatalf("%s=%q: propagates despite the error %v", key, value, err)
			}
			if err != nil && !strings.Contains(err.Error(), key) {
				t.Fatalf("%s=%q: error %q does not name the annotation", key, value, err)
			}
			if got && (mode == api.Remove || mode == api.Ignore) {
				t.Fatalf("%s=%q: propagates in mode %s", key, value, mode)
			}
			if key == api.AnnotationPropagatePrefix+"/bogus" && err == nil {
				t.Fatalf("unknown annotation %s accepted", key)
			}
			if key == api.AnnotationNoneSelector && value != "" {
				if b, perr := strconv.ParseBool(value); (perr == nil) != (err == nil) || (b && got) {
					t.Fatalf("none=%q: got %v, %v", value, got, err)
				}
			}
			if key == api.AnnotationTreeSelector && value != "" && (mode == api.Propagate || mode == api.AllowPropagate) {
				want, ok := treeSelectModel(value, under)
				if ok != (err == nil) {
					t.Fatalf("treeSelect=%q: error %v, model says valid=%v", value, err, ok)
				}
				if ok && got != want {
					t.Fatalf("treeSelect=%q to %q under %v: got %v, model %v", value, dest, under, got, want)
				}
			}
		}
	})
}
