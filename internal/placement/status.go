package placement

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
)

// Role is what the plan asks of a cluster.
type Role int

const (
	// RolePlace: the cluster holds the member Tenant.
	RolePlace Role = iota
	// RoleUnallocated: selected, but the split gives it no quota share.
	RoleUnallocated
	// RoleRemove: the cluster is to lose the member Tenant.
	RoleRemove
)

// Observation is what the hub saw of one cluster this round.
type Observation struct {
	Cluster string
	Role    Role
	// Unreachable says why the member could not be read; empty when it was.
	Unreachable string
	// WriteError says why writing the member Tenant failed.
	WriteError string
	// Member is the member's Tenant as read after writing; nil if absent.
	Member *tenancyv1.Tenant
	// QuotaHard and QuotaUsed come from the member's tenant quota.
	QuotaHard, QuotaUsed corev1.ResourceList
	// Generation is the hub Tenant's, recorded on each condition.
	Generation int64
}

// ClusterStatus returns the status entry for o. prev is the entry the hub
// reported before, whose namespaces and quota stay when the member cannot
// be read and whose condition times stay when a condition did not change.
func ClusterStatus(o Observation, prev *tenancyv1.TenantClusterStatus, now metav1.Time) tenancyv1.TenantClusterStatus {
	st := tenancyv1.TenantClusterStatus{Name: o.Cluster}
	if prev != nil {
		st.Conditions = append([]metav1.Condition(nil), prev.Conditions...)
	}
	avail := metav1.Condition{Type: tenancyv1.ConditionAvailable, Status: metav1.ConditionTrue, Reason: tenancyv1.ReasonReachable}
	if o.Unreachable != "" {
		avail = metav1.Condition{Type: tenancyv1.ConditionAvailable, Status: metav1.ConditionFalse, Reason: tenancyv1.ReasonUnreachable, Message: o.Unreachable}
		if prev != nil {
			st.Namespaces, st.QuotaHard, st.QuotaUsed = prev.Namespaces, prev.QuotaHard, prev.QuotaUsed
		}
	} else if o.Member != nil {
		st.Namespaces = append([]string(nil), o.Member.Status.Namespaces...)
		sort.Strings(st.Namespaces)
		st.QuotaHard, st.QuotaUsed = o.QuotaHard, o.QuotaUsed
	}
	avail.ObservedGeneration = o.Generation
	sc := synced(o)
	sc.ObservedGeneration = o.Generation
	setCondition(&st.Conditions, avail, now)
	setCondition(&st.Conditions, sc, now)
	return st
}

func synced(o Observation) metav1.Condition {
	c := metav1.Condition{Type: tenancyv1.ConditionSynced, Status: metav1.ConditionFalse}
	switch {
	case o.Role == RoleUnallocated:
		c.Reason, c.Message = tenancyv1.ReasonQuotaUnallocated, "spec.placement.quota gives this cluster no share of spec.quota; nothing is written to it"
	case o.Unreachable != "" && o.Role == RoleRemove:
		c.Reason, c.Message = tenancyv1.ReasonUnreachable, "left the placement; its Tenant is removed once the cluster is reachable again"
	case o.Unreachable != "":
		c.Reason, c.Message = tenancyv1.ReasonUnreachable, "the member could not be reached; its Tenant is left as it was"
	case o.WriteError != "":
		c.Reason, c.Message = tenancyv1.ReasonMemberWriteFailed, o.WriteError
	case o.Role == RoleRemove:
		c.Reason, c.Message = tenancyv1.ReasonRemoving, "left the placement; the member's Tenant is being removed under its deletion policy"
		if r := readyOf(o.Member); r != nil && r.Message != "" {
			c.Message += ": " + r.Message
		}
	case o.Member == nil:
		c.Reason, c.Message = tenancyv1.ReasonMemberNotReady, "the member's Tenant is not there yet"
	default:
		r := readyOf(o.Member)
		if r != nil && r.Status == metav1.ConditionTrue && o.Member.Status.ObservedGeneration == o.Member.Generation {
			c.Status, c.Reason, c.Message = metav1.ConditionTrue, tenancyv1.ReasonSynced, "the member's Tenant is ready"
		} else {
			c.Reason, c.Message = tenancyv1.ReasonMemberNotReady, "the member's manager has not reported the Tenant ready"
			if r != nil && r.Message != "" {
				c.Message += ": " + r.Message
			}
		}
	}
	return c
}

func readyOf(t *tenancyv1.Tenant) *metav1.Condition {
	if t == nil {
		return nil
	}
	return meta.FindStatusCondition(t.Status.Conditions, tenancyv1.ConditionReady)
}

// PlacedCondition summarises the placement: True once every placed cluster
// is synced. invalid is why the placement could not be decided.
func PlacedCondition(plan Plan, clusters []tenancyv1.TenantClusterStatus, invalid string, generation int64) metav1.Condition {
	c := metav1.Condition{Type: tenancyv1.ConditionPlaced, Status: metav1.ConditionFalse, ObservedGeneration: generation}
	if invalid != "" {
		c.Reason, c.Message = tenancyv1.ReasonInvalidPlacement, invalid
		return c
	}
	if len(plan.Place)+len(plan.Unallocated) == 0 {
		c.Reason, c.Message = tenancyv1.ReasonNoClusters, "the placement selects no registered cluster"
		return c
	}
	var pending, unreachable, leaving []string
	for _, cs := range clusters {
		if !slices.Contains(plan.Place, cs.Name) && !slices.Contains(plan.Unallocated, cs.Name) {
			leaving = append(leaving, cs.Name)
			continue // removals are reported per cluster, not held against the placement
		}
		s := meta.FindStatusCondition(cs.Conditions, tenancyv1.ConditionSynced)
		if s != nil && s.Status == metav1.ConditionTrue {
			continue
		}
		if s != nil && s.Reason == tenancyv1.ReasonUnreachable {
			unreachable = append(unreachable, cs.Name)
		} else {
			pending = append(pending, cs.Name)
		}
	}
	switch {
	case len(unreachable) > 0:
		c.Reason = tenancyv1.ReasonUnreachable
		c.Message = "unreachable: " + strings.Join(unreachable, ", ")
		if len(pending) > 0 {
			c.Message += "; not synced: " + strings.Join(pending, ", ")
		}
	case len(pending) > 0:
		c.Reason, c.Message = tenancyv1.ReasonMembersPending, "not synced: "+strings.Join(pending, ", ")
	default:
		c.Status, c.Reason = metav1.ConditionTrue, tenancyv1.ReasonPlaced
		c.Message = fmt.Sprintf("synced on %d cluster(s): %s", len(plan.Place), strings.Join(plan.Place, ", "))
	}
	if len(leaving) > 0 {
		c.Message += "; being removed from: " + strings.Join(leaving, ", ")
	}
	return c
}

// StatusChanged reports whether the fleet-owned fields differ.
func StatusChanged(old tenancyv1.TenantStatus, clusters []tenancyv1.TenantClusterStatus, placed metav1.Condition) bool {
	if !equality.Semantic.DeepEqual(old.Clusters, clusters) && !(len(old.Clusters) == 0 && len(clusters) == 0) {
		return true
	}
	cur := meta.FindStatusCondition(old.Conditions, tenancyv1.ConditionPlaced)
	return cur == nil || cur.Status != placed.Status || cur.Reason != placed.Reason ||
		cur.Message != placed.Message || cur.ObservedGeneration != placed.ObservedGeneration
}

// MergePlaced returns the Placed condition to write, keeping its
// transition time when its status did not change.
func MergePlaced(old []metav1.Condition, placed metav1.Condition, now metav1.Time) metav1.Condition {
	conds := append([]metav1.Condition(nil), old...)
	setCondition(&conds, placed, now)
	return *meta.FindStatusCondition(conds, tenancyv1.ConditionPlaced)
}

func setCondition(conds *[]metav1.Condition, c metav1.Condition, now metav1.Time) {
	if cur := meta.FindStatusCondition(*conds, c.Type); cur == nil || cur.Status != c.Status {
		c.LastTransitionTime = now
	} else {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	meta.SetStatusCondition(conds, c)
}
