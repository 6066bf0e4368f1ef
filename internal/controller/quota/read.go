package quota

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	hncv1 "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	"github.com/canopyhq/canopy/internal/quota"
)

// TreeQuotas are the quota objects of one tree, as read.
type TreeQuotas struct {
	HRQs []hncv1.HierarchicalResourceQuota
	HQs  []tenancyv1.HierarchicalQuota
}

// Engine reduces the objects to the engine's Quotas. Objects being deleted
// are left out: they no longer limit anything.
func (t TreeQuotas) Engine() []quota.Quota {
	out := make([]quota.Quota, 0, len(t.HRQs)+len(t.HQs))
	for i := range t.HRQs {
		if t.HRQs[i].DeletionTimestamp.IsZero() {
			out = append(out, quota.FromHRQ(&t.HRQs[i]))
		}
	}
	for i := range t.HQs {
		if t.HQs[i].DeletionTimestamp.IsZero() {
			out = append(out, quota.FromHierarchicalQuota(&t.HQs[i]))
		}
	}
	return out
}

// perNamespaceMax is the largest tree read with one List per namespace (an
// index lookup on a cached reader); a larger tree is read with one List
// over all namespaces, filtered to the tree, which costs one pass over the
// cached objects instead of three lookups per namespace.
const perNamespaceMax = 32

// ReadQuotas lists the quotas in the tree's namespaces. The objects are the
// cache's own (no deep copy, which dominates at a thousand namespaces):
// callers copy before changing them.
func ReadQuotas(ctx context.Context, r client.Reader, v TreeView) (TreeQuotas, error) {
	var out TreeQuotas
	for _, opts := range listScopes(v) {
		var hrqs hncv1.HierarchicalResourceQuotaList
		if err := r.List(ctx, &hrqs, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
			return out, fmt.Errorf("listing HierarchicalResourceQuotas: %w", err)
		}
		for _, h := range hrqs.Items {
			if v.Contains(h.Namespace) {
				out.HRQs = append(out.HRQs, h)
			}
		}
		var hqs tenancyv1.HierarchicalQuotaList
		if err := r.List(ctx, &hqs, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
			return out, fmt.Errorf("listing HierarchicalQuotas: %w", err)
		}
		for _, q := range hqs.Items {
			if v.Contains(q.Namespace) {
				out.HQs = append(out.HQs, q)
			}
		}
	}
	return out, nil
}

// ReadSingletons lists Canopy's ResourceQuota singletons in the tree's
// namespaces, by namespace. As with ReadQuotas, the objects are the
// cache's own.
func ReadSingletons(ctx context.Context, r client.Reader, v TreeView) (map[string][]corev1.ResourceQuota, error) {
	out := map[string][]corev1.ResourceQuota{}
	for _, opts := range listScopes(v) {
		var list corev1.ResourceQuotaList
		opts = append(opts, client.MatchingLabels{LabelSingleton: "true"}, client.UnsafeDisableDeepCopy)
		if err := r.List(ctx, &list, opts...); err != nil {
			return nil, fmt.Errorf("listing quota singletons: %w", err)
		}
		for _, rq := range list.Items {
			if v.Contains(rq.Namespace) {
				out[rq.Namespace] = append(out[rq.Namespace], rq)
			}
		}
	}
	return out, nil
}

// listScopes returns the List options that together cover the tree: one
// per existing namespace for a small tree, one over all namespaces for a
// large one.
func listScopes(v TreeView) [][]client.ListOption {
	if len(v.Namespaces) > perNamespaceMax {
		return [][]client.ListOption{nil}
	}
	out := make([][]client.ListOption, 0, len(v.Namespaces))
	for _, ns := range v.Namespaces {
		out = append(out, []client.ListOption{client.InNamespace(ns)})
	}
	return out
}

// ReadSingletonsLive reads Canopy's singletons straight from the API server
// (r is not a cache) with one List over all namespaces, and keeps those of
// the tree. A live List is linearizable: it shows every committed update.
func ReadSingletonsLive(ctx context.Context, r client.Reader, v TreeView) (map[string][]corev1.ResourceQuota, error) {
	var list corev1.ResourceQuotaList
	if err := r.List(ctx, &list, client.MatchingLabels{LabelSingleton: "true"}); err != nil {
		return nil, fmt.Errorf("listing quota singletons: %w", err)
	}
	out := map[string][]corev1.ResourceQuota{}
	for _, rq := range list.Items {
		if v.Contains(rq.Namespace) {
			out[rq.Namespace] = append(out[rq.Namespace], rq)
		}
	}
	return out, nil
}

// ActualUsage is the usage the singletons report, keyed by namespace and the
// scope key of each singleton's selector. A singleton whose status the API
// server has not filled yet reports nothing.
func ActualUsage(singletons map[string][]corev1.ResourceQuota) quota.Usage {
	out := quota.Usage{}
	for ns, rqs := range singletons {
		for _, rq := range rqs {
			if rq.Status.Used == nil {
				continue
			}
			out[quota.Key{Namespace: ns, Scope: quota.ScopeKey(rq.Spec.ScopeSelector)}] = quota.Normalize(rq.Status.Used)
		}
	}
	return out
}

// ObservedVersions is the resourceVersion of every singleton whose status
// the API server has filled, keyed like ActualUsage. A singleton with no
// status yet settles nothing: its usage is not known.
func ObservedVersions(singletons map[string][]corev1.ResourceQuota) quota.Versions {
	out := quota.Versions{}
	for ns, rqs := range singletons {
		for _, rq := range rqs {
			if rq.Status.Used == nil {
				continue
			}
			out[quota.Key{Namespace: ns, Scope: quota.ScopeKey(rq.Spec.ScopeSelector)}] = quota.ParseRV(rq.ResourceVersion)
		}
	}
	return out
}
