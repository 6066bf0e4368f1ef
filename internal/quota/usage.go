package quota

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
)

// Usage returns the normalised usage recorded for one namespace and scope.
func (s *Snapshot) Usage(ns, scopeKey string) corev1.ResourceList {
	return s.usage[Key{Namespace: ns, Scope: scopeKey}].DeepCopy()
}

// SubtreeUsage returns the normalised usage under scopeKey summed over ns and
// all its descendants.
func SubtreeUsage(s *Snapshot, ns, scopeKey string) corev1.ResourceList {
	out := s.total(ns, scopeKey).DeepCopy()
	if out == nil {
		out = corev1.ResourceList{}
	}
	return out
}

// StatusUsed is q's status.used: its subtree usage for every name in q.Hard,
// under the name Hard uses (cpu stays cpu), zero where nothing is used.
func StatusUsed(s *Snapshot, q Quota) corev1.ResourceList {
	total := s.total(q.Namespace, q.ScopeKey)
	out := make(corev1.ResourceList, len(q.Hard))
	for r := range q.Hard {
		out[r] = Lookup(total, r)
	}
	return out
}

// SingletonHard is the hard of the ResourceQuota singleton for ns and
// scopeKey: every name limited by a quota with that scope key on ns or an
// ancestor, at the strictest of their values. Naming every such resource
// makes the API server track its usage; the strictest value lets the
// singleton reject what could never fit before the webhook is asked.
func SingletonHard(s *Snapshot, ns, scopeKey string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, a := range s.ancestry(ns) {
		for _, q := range s.quotas[a] {
			if q.ScopeKey != scopeKey {
				continue
			}
			for r, h := range q.Hard {
				if cur, ok := out[r]; !ok || h.Cmp(cur) < 0 {
					out[r] = h.DeepCopy()
				}
			}
		}
	}
	return out
}

// patched returns a snapshot whose usage is s's with over applied, sharing
// everything unchanged with s. It costs O(len(over) × depth) plus a shallow
// copy of the maps, where WithUsage recomputes every total.
func (s *Snapshot) patched(over Usage) *Snapshot {
	if len(over) == 0 {
		return s
	}
	out := &Snapshot{
		parent: s.parent,
		usage:  maps.Clone(s.usage),
		totals: maps.Clone(s.totals),
		quotas: maps.Clone(s.quotas),
	}
	cloned := map[string]bool{}
	for k, l := range over {
		n := Normalize(l)
		d := Subtract(n, s.usage[k])
		out.usage[k] = n
		for _, a := range s.ancestry(k.Namespace) {
			if !cloned[a] {
				inner := maps.Clone(out.totals[a])
				if inner == nil {
					inner = map[string]corev1.ResourceList{}
				}
				out.totals[a] = inner
				cloned[a] = true
			}
			out.totals[a][k.Scope] = Add(out.totals[a][k.Scope], d)
		}
	}
	// Remainders depend on the totals below their quota's namespace.
	for a := range cloned {
		vs := s.quotas[a]
		if len(vs) == 0 {
			continue
		}
		nv := make([]*quotaView, len(vs))
		for i, v := range vs {
			nv[i] = v
			if len(v.Allocations) > 0 {
				nv[i] = out.view(v.Quota)
			}
		}
		out.quotas[a] = nv
	}
	return out
}

// Patched returns a snapshot whose usage is s's with over applied (an empty
// list removes a key's usage), sharing everything unchanged with s. It
// costs O(len(over) × depth) plus shallow copies of the maps, where
// NewSnapshot or WithUsage recompute every total.
func (s *Snapshot) Patched(over Usage) *Snapshot {
	return s.patched(over)
}
