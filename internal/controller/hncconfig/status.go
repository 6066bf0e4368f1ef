package hncconfig

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	"github.com/canopyhq/canopy/internal/controller/propagation"
)

// ReasonWriteForbidden is the reason of the OutOfSync condition set when
// the manager's RBAC does not let it write copies of a configured type.
// Canopy's static role grants writes only on Roles and RoleBindings; the
// administrator grants the rest per type.
const ReasonWriteForbidden = "WriteForbidden"

// DesiredStatus computes the HNCConfiguration status from the spec error
// (ParseModes), the Propagator's view of each type and the existing status,
// whose identical conditions keep their LastTransitionTime. It is pure.
func DesiredStatus(specErr error, types []propagation.TypeStatus, existing api.HNCConfigurationStatus, generation int64, now metav1.Time) api.HNCConfigurationStatus {
	var st api.HNCConfigurationStatus
	var conds []metav1.Condition
	add := func(typ, reason, msg string) {
		conds = append(conds, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: msg})
	}
	if specErr != nil {
		add(api.ConditionBadTypeConfiguration, api.ReasonMultipleConfigsForType, joinLines(specErr))
	}
	for _, t := range types {
		if t.Err != nil {
			add(api.ConditionBadTypeConfiguration, t.ErrReason, t.Err.Error())
			continue
		}
		if len(t.Forbidden) > 0 {
			add(api.ConditionOutOfSync, ReasonWriteForbidden, fmt.Sprintf(
				"The manager may not %s %s: grant these verbs to Canopy's service account to propagate this type",
				strings.Join(t.Forbidden, ", "), t.GroupResource.String()))
		}
		rs := api.ResourceStatus{Group: t.GroupResource.Group, Version: t.Version, Resource: t.GroupResource.Resource, Mode: t.Mode}
		src := t.Sources
		rs.NumSourceObjects = &src
		if t.Mode == api.Propagate || t.Mode == api.AllowPropagate {
			n := t.Propagated
			rs.NumPropagatedObjects = &n
		}
		st.Resources = append(st.Resources, rs)
	}
	sort.Slice(conds, func(i, j int) bool {
		a, b := conds[i], conds[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Reason != b.Reason {
			return a.Reason < b.Reason
		}
		return a.Message < b.Message
	})
	for i := range conds {
		c := &conds[i]
		c.ObservedGeneration, c.LastTransitionTime = generation, now
		for _, e := range existing.Conditions {
			if e.Type == c.Type && e.Status == c.Status && e.Reason == c.Reason && e.Message == c.Message {
				c.LastTransitionTime = e.LastTransitionTime
			}
		}
	}
	st.Conditions = conds
	return st
}

// joinLines flattens a joined error into one line per problem, "; "
// separated.
func joinLines(err error) string {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var parts []string
		for _, e := range j.Unwrap() {
			parts = append(parts, e.Error())
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}
