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

// ReadQuotas lists the quotas in the tree's namespaces, one List per
// namespace (an index lookup on a cached reader). The objects are the
// cache's own (no deep copy, which dominates at a thousand namespaces):
// callers copy before changing them.
func ReadQuotas(ctx context.Context, r client.Reader, v TreeView) (TreeQuotas, error) {
	var out TreeQuotas
	for _, ns := range v.Namespaces {
		var hrqs hncv1.HierarchicalResourceQuotaList
		if err := r.List(ctx, &hrqs, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return out, fmt.Errorf("listing HierarchicalResourceQuotas in %q: %w", ns, err)
		}
		out.HRQs = append(out.HRQs, hrqs.Items...)
		var hqs tenancyv1.HierarchicalQuotaList
		if err := r.List(ctx, &hqs, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return out, fmt.Errorf("listing HierarchicalQuotas in %q: %w", ns, err)
		}
		out.HQs = append(out.HQs, hqs.Items...)
	}
	return out, nil
}

// ReadSingletons lists Canopy's ResourceQuota singletons in the tree's
// namespaces, by namespace. As with ReadQuotas, the objects are the
// cache's own.
func ReadSingletons(ctx context.Context, r client.Reader, v TreeView) (map[string][]corev1.ResourceQuota, error) {
	out := map[string][]corev1.ResourceQuota{}
	for _, ns := range v.Namespaces {
		var list corev1.ResourceQuotaList
		if err := r.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{LabelSingleton: "true"}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing quota singletons in %q: %w", ns, err)
		}
		if len(list.Items) > 0 {
			out[ns] = list.Items
		}
	}
	return out, nil
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
