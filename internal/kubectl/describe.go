package kubectl

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// DescribeOptions selects the namespace to describe.
type DescribeOptions struct {
	Namespace string
	// Now is the time event ages are measured from; zero means the clock.
	Now time.Time
}

// Describe prints a namespace's parent, children (with the state of their
// anchors), conditions and recent hierarchy events, as `kubectl hns
// describe` does.
func Describe(ctx context.Context, c client.Client, w io.Writer, o DescribeOptions) error {
	nnm := o.Namespace
	if err := c.Get(ctx, types.NamespacedName{Name: nnm}, &corev1.Namespace{}); err != nil {
		return fmt.Errorf("reading namespace %s: %w", nnm, err)
	}
	hc, err := getHierarchy(ctx, c, nnm)
	if err != nil {
		return err
	}
	var anchors hncv1.SubnamespaceAnchorList
	if err := c.List(ctx, &anchors, client.InNamespace(nnm)); err != nil {
		return fmt.Errorf("listing subnamespace anchors in %s: %w", nnm, err)
	}
	var events corev1.EventList
	if err := c.List(ctx, &events, client.InNamespace(nnm)); err != nil {
		return fmt.Errorf("listing events in %s: %w", nnm, err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Hierarchy configuration for namespace %s\n", nnm)
	if hc.Spec.Parent != "" {
		fmt.Fprintf(&b, "  Parent: %s\n", hc.Spec.Parent)
	} else {
		b.WriteString("  No parent\n")
	}
	if children := describeChildren(hc.Status.Children, anchors.Items); len(children) > 0 {
		fmt.Fprintf(&b, "  Children:\n  - %s\n", strings.Join(children, "\n  - "))
	} else {
		b.WriteString("  No children\n")
	}
	if hc.Spec.AllowCascadingDeletion {
		b.WriteString("  Cascading deletion allowed\n")
	}
	writeHNCConditions(&b, "  ", hc.Status.Conditions)
	if err := writeEvents(&b, nnm, events.Items, nowOr(o.Now)); err != nil {
		return err
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// describeChildren merges status.children with the namespace's anchors: a
// child with an anchor is a subnamespace; an anchor with no child yet shows
// its state (Missing, Conflict, Forbidden).
func describeChildren(children []string, anchors []hncv1.SubnamespaceAnchor) []string {
	status := map[string]string{}
	for _, cn := range children {
		status[cn] = ""
	}
	for _, a := range anchors {
		if _, ok := status[a.Name]; ok {
			status[a.Name] = "subnamespace"
			continue
		}
		state := string(a.Status.State)
		if state == "" {
			state = "Unknown"
		}
		status[a.Name] = state + " subnamespace"
	}
	out := make([]string, 0, len(status))
	for cn, st := range status {
		if st == "" {
			out = append(out, cn)
		} else {
			out = append(out, fmt.Sprintf("%s (%s)", cn, st))
		}
	}
	slices.Sort(out)
	return out
}

// writeHNCConditions writes conditions in HNC's "Type (Reason): Message"
// form.
func writeHNCConditions(b *strings.Builder, indent string, conds []metav1.Condition) {
	if len(conds) == 0 {
		b.WriteString(indent + "No conditions\n")
		return
	}
	b.WriteString(indent + "Conditions:\n")
	for _, c := range conds {
		fmt.Fprintf(b, "%s- %s (%s): %s\n", indent, c.Type, c.Reason, c.Message)
	}
}

// hierarchyEventSources are the reporting components whose events
// describe shows, besides events about HNC or Canopy objects.
var hierarchyEventSources = []string{hncv1.MetaGroup, "canopy"}

// isHierarchyEvent reports whether an event came from HNC or Canopy, or is
// about one of their objects.
func isHierarchyEvent(e *corev1.Event) bool {
	for _, src := range []string{e.Source.Component, e.ReportingController} {
		for _, want := range hierarchyEventSources {
			if src != "" && strings.HasPrefix(src, want) {
				return true
			}
		}
	}
	gv, err := schema.ParseGroupVersion(e.InvolvedObject.APIVersion)
	return err == nil && (gv.Group == hncv1.MetaGroup || gv.Group == tenancyv1.GroupVersion.Group)
}

// eventTime is when the event was last seen.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}

// writeEvents writes the hierarchy events, newest first, one per reason
// and object.
func writeEvents(b *strings.Builder, nnm string, events []corev1.Event, now time.Time) error {
	var hier []*corev1.Event
	for i := range events {
		if isHierarchyEvent(&events[i]) {
			hier = append(hier, &events[i])
		}
	}
	if len(hier) == 0 {
		b.WriteString("\nNo recent HNC events for objects in this namespace\n")
		return nil
	}
	slices.SortStableFunc(hier, func(x, y *corev1.Event) int { return eventTime(y).Compare(eventTime(x)) })
	fmt.Fprintf(b, "\nEvents from the objects in namespace %s\n", nnm)
	tw := tabwriter.NewWriter(b, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "Last Seen\tReason\tObject\tMessage")
	seen := map[string]bool{}
	for _, e := range hier {
		obj := e.InvolvedObject.Kind + ":" + e.InvolvedObject.Namespace + "/" + e.InvolvedObject.Name
		if seen[e.Reason+obj] {
			continue
		}
		seen[e.Reason+obj] = true
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", age(now, metav1.NewTime(eventTime(e))), e.Reason, obj, strings.TrimSpace(e.Message))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing events: %w", err)
	}
	return nil
}
