package placement

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/quota"
)

func readyMember(gen int64) *tenancyv1.Tenant {
	return &tenancyv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Generation: gen},
		Status: tenancyv1.TenantStatus{ObservedGeneration: gen, Namespaces: []string{"shop-dev", "shop"},
			Conditions: []metav1.Condition{{Type: tenancyv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Reconciled"}}},
	}
}

func cond(st tenancyv1.TenantClusterStatus, typ string) metav1.Condition {
	c := meta.FindStatusCondition(st.Conditions, typ)
	if c == nil {
		return metav1.Condition{}
	}
	return *c
}

func TestClusterStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	ok := ClusterStatus(Observation{Cluster: "a", Member: readyMember(2), QuotaHard: rl("pods", "4"), Generation: 7}, nil, t0)
	if c := cond(ok, tenancyv1.ConditionSynced); c.Status != metav1.ConditionTrue || c.ObservedGeneration != 7 {
		t.Fatalf("ready member not synced: %+v", c)
	}
	if len(ok.Namespaces) != 2 || ok.Namespaces[0] != "shop" {
		t.Errorf("namespaces not sorted from the member: %v", ok.Namespaces)
	}

	down := ClusterStatus(Observation{Cluster: "a", Unreachable: "dial tcp: connection refused", Generation: 7}, &ok, t1)
	if c := cond(down, tenancyv1.ConditionAvailable); c.Status != metav1.ConditionFalse || c.Reason != tenancyv1.ReasonUnreachable || !c.LastTransitionTime.Equal(&t1) {
		t.Errorf("unreachable member: Available = %+v", c)
	}
	if len(down.Namespaces) != 2 || !quota.Same(down.QuotaHard, rl("pods", "4")) {
		t.Errorf("unreachable member lost what was last seen: %+v", down)
	}

	again := ClusterStatus(Observation{Cluster: "a", Member: readyMember(2), QuotaHard: rl("pods", "4"), Generation: 7}, &ok, t1)
	if c := cond(again, tenancyv1.ConditionSynced); !c.LastTransitionTime.Equal(&t0) {
		t.Errorf("unchanged condition moved its transition time: %v", c.LastTransitionTime)
	}

	stale := readyMember(3)
	stale.Status.ObservedGeneration = 2
	if c := cond(ClusterStatus(Observation{Cluster: "a", Member: stale}, nil, t0), tenancyv1.ConditionSynced); c.Status != metav1.ConditionFalse {
		t.Errorf("member that has not observed its generation counted as synced: %+v", c)
	}
	if c := cond(ClusterStatus(Observation{Cluster: "a", Role: RoleRemove, Unreachable: "timeout"}, nil, t0), tenancyv1.ConditionSynced); c.Reason != tenancyv1.ReasonUnreachable {
		t.Errorf("unreachable leaving member: Synced = %+v", c)
	}
}

func TestPlacedCondition(t *testing.T) {
	now := metav1.Now()
	synced := ClusterStatus(Observation{Cluster: "a", Member: readyMember(1)}, nil, now)
	down := ClusterStatus(Observation{Cluster: "b", Unreachable: "refused"}, nil, now)
	for _, tc := range []struct {
		name     string
		plan     Plan
		clusters []tenancyv1.TenantClusterStatus
		invalid  string
		status   metav1.ConditionStatus
		reason   string
	}{
		{"all synced", Plan{Place: []string{"a"}}, []tenancyv1.TenantClusterStatus{synced}, "", metav1.ConditionTrue, tenancyv1.ReasonPlaced},
		{"one unreachable", Plan{Place: []string{"a", "b"}}, []tenancyv1.TenantClusterStatus{synced, down}, "", metav1.ConditionFalse, tenancyv1.ReasonUnreachable},
		{"a removal pending does not hold it back", Plan{Place: []string{"a"}, Remove: []string{"b"}}, []tenancyv1.TenantClusterStatus{synced, down}, "", metav1.ConditionTrue, tenancyv1.ReasonPlaced},
		{"unallocated cluster", Plan{Place: []string{"a"}, Unallocated: []string{"c"}}, []tenancyv1.TenantClusterStatus{synced, ClusterStatus(Observation{Cluster: "c", Role: RoleUnallocated}, nil, now)}, "", metav1.ConditionFalse, tenancyv1.ReasonMembersPending},
		{"nothing selected", Plan{}, nil, "", metav1.ConditionFalse, tenancyv1.ReasonNoClusters},
		{"invalid", Plan{}, nil, "bad selector", metav1.ConditionFalse, tenancyv1.ReasonInvalidPlacement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := PlacedCondition(tc.plan, tc.clusters, tc.invalid, 3)
			if c.Status != tc.status || c.Reason != tc.reason || c.ObservedGeneration != 3 {
				t.Errorf("Placed = %+v, want %s/%s at generation 3", c, tc.status, tc.reason)
			}
		})
	}
}
