package kubectl

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

func member(name string, namespaces []string, conds ...metav1.Condition) tenancyv1.TenantClusterStatus {
	return tenancyv1.TenantClusterStatus{Name: name, Namespaces: namespaces, Conditions: conds}
}

func condition(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason}
}

// hubObjects are a hub's Tenants: two fleet Tenants and a local one.
func hubObjects() []client.Object {
	created := metav1.NewTime(testNow.Add(-48 * time.Hour))
	avail := condition(tenancyv1.ConditionAvailable, metav1.ConditionTrue, tenancyv1.ReasonReachable)
	synced := condition(tenancyv1.ConditionSynced, metav1.ConditionTrue, tenancyv1.ReasonSynced)
	acme := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "acme", CreationTimestamp: created},
		Spec:       tenancyv1.TenantSpec{Placement: &tenancyv1.TenantPlacement{Clusters: []string{"eu-1", "us-1"}}},
		Status: tenancyv1.TenantStatus{
			Conditions: []metav1.Condition{condition(tenancyv1.ConditionPlaced, metav1.ConditionFalse, "Unreachable")},
			Clusters: []tenancyv1.TenantClusterStatus{
				member("eu-1", []string{"acme-dev", "acme"}, avail, synced),
				member("us-1", []string{"acme"}, condition(tenancyv1.ConditionAvailable, metav1.ConditionFalse, tenancyv1.ReasonUnreachable)),
			},
		},
	}
	beta := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "beta", CreationTimestamp: created},
		Spec:       tenancyv1.TenantSpec{Placement: &tenancyv1.TenantPlacement{Clusters: []string{"eu-1"}}},
		Status: tenancyv1.TenantStatus{
			Conditions: []metav1.Condition{condition(tenancyv1.ConditionPlaced, metav1.ConditionTrue, tenancyv1.ReasonPlaced)},
			Clusters: []tenancyv1.TenantClusterStatus{
				member("eu-1", []string{"beta"}, avail, condition(tenancyv1.ConditionSynced, metav1.ConditionFalse, tenancyv1.ReasonRemoving)),
			},
		},
	}
	local := &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: "local", CreationTimestamp: created},
		Status: tenancyv1.TenantStatus{
			Namespaces: []string{"local"},
			Conditions: []metav1.Condition{condition(tenancyv1.ConditionReady, metav1.ConditionTrue, "Ready")},
		},
	}
	return []client.Object{acme, beta, local}
}

func TestFleetTreeGolden(t *testing.T) {
	c, calls := newFakeClient(t, nil, hubObjects()...)
	out, _, err, _ := run(t, NameCanopy, c, "tree", "--all-clusters")
	if err != nil {
		t.Fatal(err)
	}
	want := `eu-1 (Removing)
├── acme
│   ├── acme
│   └── acme-dev
└── beta
    └── beta
us-1 (Unreachable)
└── acme
    └── acme
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("tree --all-clusters (-want +got):\n%s", diff)
	}
	if got := calls.total("List"); got != 1 {
		t.Errorf("tree --all-clusters made %d List calls, want 1", got)
	}
}

func TestFleetTreeRefusesOtherSelections(t *testing.T) {
	c, _ := newFakeClient(t, nil, hubObjects()...)
	for _, args := range [][]string{{"tree", "--all-clusters", "-A"}, {"tree", "--all-clusters", "acme"}} {
		if _, _, err, _ := run(t, NameCanopy, c, args...); err == nil || !strings.Contains(err.Error(), "cannot be combined") {
			t.Errorf("%v = %v, want refused", args, err)
		}
	}
}

func TestFleetTreeWithoutFleetTenants(t *testing.T) {
	c, _ := newFakeClient(t, nil, richObjects()...)
	var out bytes.Buffer
	if err := FleetTree(context.Background(), c, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "No fleet Tenant is placed on any cluster.\n" {
		t.Errorf("FleetTree on a single cluster = %q", got)
	}
}

func TestTenantListOnAHubShowsClusters(t *testing.T) {
	c, _ := newFakeClient(t, nil, hubObjects()...)
	var out bytes.Buffer
	if err := TenantList(context.Background(), c, &out, TenantOptions{Now: testNow}); err != nil {
		t.Fatal(err)
	}
	want := `NAME    NAMESPACES   OWNERS   READY   QUOTA    CLUSTERS                 AGE
acme    3            0        False   <none>   eu-1,us-1(Unreachable)   2d
beta    1            0        True    <none>   eu-1(Removing)           2d
local   1            0        True    <none>   -                        2d
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("tenant list on a hub (-want +got):\n%s", diff)
	}
}
