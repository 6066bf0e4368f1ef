package fleet

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
)

// memberTimeout bounds each call to a member, so an unreachable member is
// reported within a reconcile instead of stalling it.
const memberTimeout = 5 * time.Second

// member is one connected member cluster, as the hub reconciler uses it.
// Every read goes to its API server, not a cache: the answer says both
// what is there and whether the member is reachable now.
type member struct {
	name string
	cl   cluster.Cluster
}

// memberFor returns the connected member name, or why it is unreachable.
func (h *Hub) memberFor(ctx context.Context, name string) (*member, string) {
	if !h.Provider.Registered(name) {
		return nil, "no ClusterProfile or kubeconfig Secret registers this cluster"
	}
	cl, err := h.Provider.Get(ctx, multicluster.ClusterName(name))
	if err != nil {
		if why := h.Provider.ConnectError(name); why != "" {
			return nil, why
		}
		return nil, "not connected yet"
	}
	return &member{name: name, cl: cl}, ""
}

// read returns the member's Tenant named name (nil when absent), or an
// error when the member could not be read.
func (m *member) read(ctx context.Context, name string) (*tenancyv1.Tenant, error) {
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	t := &tenancyv1.Tenant{}
	if err := m.cl.GetAPIReader().Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return t, nil
}

// holds reports, from the member's cache, whether it holds a hub-managed
// Tenant named name. Used only to find members to remove a Tenant from.
func (m *member) holds(ctx context.Context, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	t := &tenancyv1.Tenant{}
	if err := m.cl.GetCache().Get(ctx, client.ObjectKey{Name: name}, t); err != nil {
		return false
	}
	return t.Labels[tenancyv1.LabelManagedBy] == tenancyv1.ManagedByHub
}

// apply writes want over cur (nil when absent) and returns the Tenant as
// written. A Tenant of that name that the hub does not manage is left
// alone: the hub never takes over a member's own Tenant.
func (m *member) apply(ctx context.Context, cur, want *tenancyv1.Tenant) (*tenancyv1.Tenant, error) {
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	c := m.cl.GetClient()
	if cur == nil {
		if err := c.Create(ctx, want); err != nil {
			return nil, fmt.Errorf("creating the Tenant: %w", err)
		}
		return want, nil
	}
	if cur.Labels[tenancyv1.LabelManagedBy] != tenancyv1.ManagedByHub {
		return cur, fmt.Errorf("the member has its own Tenant %q, not managed by the hub; it is left alone", cur.Name)
	}
	if cur.DeletionTimestamp != nil {
		return cur, fmt.Errorf("the member's Tenant is being deleted; it is written again once it is gone")
	}
	if equality.Semantic.DeepEqual(cur.Spec, want.Spec) {
		return cur, nil
	}
	next := cur.DeepCopy()
	next.Spec = want.Spec
	next.Labels = maps.Clone(cur.Labels)
	maps.Copy(next.Labels, want.Labels)
	if err := c.Update(ctx, next); err != nil {
		return cur, fmt.Errorf("updating the Tenant: %w", err)
	}
	return next, nil
}

// remove deletes the member's hub-managed Tenant; the member's manager
// then tears it down under its deletion policy. gone is true once it is.
func (m *member) remove(ctx context.Context, cur *tenancyv1.Tenant) (gone bool, err error) {
	if cur == nil || cur.Labels[tenancyv1.LabelManagedBy] != tenancyv1.ManagedByHub {
		return true, nil
	}
	if cur.DeletionTimestamp != nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	if err := m.cl.GetClient().Delete(ctx, cur, client.Preconditions{UID: &cur.UID}); client.IgnoreNotFound(err) != nil {
		return false, fmt.Errorf("deleting the Tenant: %w", err)
	}
	return false, nil
}

// quota reads the member's tenant quota (the HierarchicalQuota at the
// tree's root): what it enforces and what it counts. Missing (not created
// yet, or no quota) gives nils.
func (m *member) quota(ctx context.Context, tenant string) (hard, used corev1.ResourceList, err error) {
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	q := &tenancyv1.HierarchicalQuota{}
	if err := m.cl.GetAPIReader().Get(ctx, client.ObjectKey{Namespace: tenant, Name: tenantctrl.QuotaName}, q); err != nil {
		return nil, nil, client.IgnoreNotFound(err)
	}
	return q.Spec.Hard, q.Status.Used, nil
}
