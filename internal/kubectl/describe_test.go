package kubectl

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

func TestDescribeGolden(t *testing.T) {
	tests := []struct {
		name string
		ns   string
		want string
	}{
		{
			name: "root with anchors and events",
			ns:   "acme",
			want: `Hierarchy configuration for namespace acme
  No parent
  Children:
  - dev (subnamespace)
  - prod
  - qa (Missing subnamespace)
  No conditions

Events from the objects in namespace acme
Last Seen Reason     Object                     Message
5m        Missing    SubnamespaceAnchor:acme/qa namespace qa not created yet
120m      QuotaReady Tenant:/acme               quota in place
`,
		},
		{
			name: "child with a condition and no events",
			ns:   "prod-eu",
			want: `Hierarchy configuration for namespace prod-eu
  Parent: prod
  No children
  Conditions:
  - BadConfiguration (SubnamespaceAnchorMissing): anchor is gone

No recent HNC events for objects in this namespace
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newFakeClient(t, nil, richObjects()...)
			var out bytes.Buffer
			if err := Describe(context.Background(), c, &out, DescribeOptions{Namespace: tt.ns, Now: testNow}); err != nil {
				t.Fatalf("Describe: %v", err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("describe %s (-want +got):\n%s", tt.ns, diff)
			}
		})
	}
}

func TestIsHierarchyEvent(t *testing.T) {
	tests := []struct {
		name string
		e    corev1.Event
		want bool
	}{
		{"hnc component", corev1.Event{Source: corev1.EventSource{Component: hncv1.MetaGroup}}, true},
		{"canopy reporting controller", corev1.Event{ReportingController: "canopy-tenant"}, true},
		{"about an hnc object", corev1.Event{InvolvedObject: corev1.ObjectReference{APIVersion: "hnc.x-k8s.io/v1alpha2"}}, true},
		{"about a pod from the kubelet", corev1.Event{Source: corev1.EventSource{Component: "kubelet"}, InvolvedObject: corev1.ObjectReference{APIVersion: "v1"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isHierarchyEvent(&tt.e); got != tt.want {
				t.Errorf("isHierarchyEvent = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestDescribeMissingNamespace(t *testing.T) {
	c, _ := newFakeClient(t, nil)
	err := Describe(context.Background(), c, &bytes.Buffer{}, DescribeOptions{Namespace: "ghost"})
	if want := `reading namespace ghost: namespaces "ghost" not found`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}
