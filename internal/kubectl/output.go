package kubectl

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Output is the value of the -o flag. The empty Output is the human view.
type Output string

// The machine-readable formats -o accepts.
const (
	OutputHuman Output = ""
	OutputYAML  Output = "yaml"
	OutputJSON  Output = "json"
)

// ParseOutput validates the value of -o.
func ParseOutput(s string) (Output, error) {
	switch o := Output(s); o {
	case OutputHuman, OutputYAML, OutputJSON:
		return o, nil
	default:
		return "", fmt.Errorf("unsupported --output %q: must be yaml or json", s)
	}
}

// printObjects writes objs as one object (when single) or a v1 List, in the
// format kubectl get -o would use: apiVersion and kind set, managedFields
// hidden.
func printObjects(w io.Writer, s *runtime.Scheme, o Output, single bool, objs ...client.Object) error {
	var p printers.ResourcePrinter = &printers.JSONPrinter{}
	if o == OutputYAML {
		p = &printers.YAMLPrinter{}
	}
	for _, obj := range objs {
		gvk, err := apiutil.GVKForObject(obj, s)
		if err != nil {
			return fmt.Errorf("finding the kind of %T: %w", obj, err)
		}
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		obj.SetManagedFields(nil)
	}
	if single && len(objs) == 1 {
		if err := p.PrintObj(objs[0], w); err != nil {
			return fmt.Errorf("printing %s: %w", objs[0].GetName(), err)
		}
		return nil
	}
	list := &corev1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
	for _, obj := range objs {
		raw, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", obj.GetName(), err)
		}
		list.Items = append(list.Items, runtime.RawExtension{Raw: raw})
	}
	if err := p.PrintObj(list, w); err != nil {
		return fmt.Errorf("printing the list: %w", err)
	}
	return nil
}

// age renders the time since t the way kubectl does, or <unknown>.
func age(now time.Time, t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// nowOr returns now, or the wall clock when now is zero.
func nowOr(now time.Time) time.Time {
	if now.IsZero() {
		return time.Now()
	}
	return now
}
