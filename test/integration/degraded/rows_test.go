package degraded

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"

	tenancyv1 "github.com/canopyhq/canopy/api/tenancy/v1alpha1"
	tenantctrl "github.com/canopyhq/canopy/internal/controller/tenant"
	"github.com/canopyhq/canopy/internal/forest"
	"github.com/canopyhq/canopy/internal/quota"
)

// row is one line of the README's degraded-mode list, measured: bullet is
// the bold label the README's bullet starts with, webhooks the webhooks one
// of which must be named in the denial ("failed calling webhook ..."), or
// none when the request must be allowed. Requests that would change the
// trees are sent as dry runs: the API server calls every Canopy webhook on
// a dry run (their sideEffects are None or NoneOnDryRun), so a dry run is
// denied exactly when the real request would be, and a row that finds a
// hole changes nothing the next row relies on.
type row struct {
	bullet   string
	what     string
	webhooks []string
	do       func(ctx context.Context, log logf, c client.Client) error
}

// churnWhat is the slowest row; it runs beside the others, from the start
// of the outage.
const churnWhat = "create and delete 100 namespaces, 4 at a time"

func (r row) background() bool { return r.what == churnWhat }

// logf reports a figure a row measured.
type logf func(format string, args ...any)

// The README's bullets.
const (
	bHierarchy    = "Hierarchy"
	bNamespaces   = "Namespaces in a tree or a tenant"
	bPropagated   = "Propagated objects"
	bPolicy       = "Quota, tenant and configuration writes"
	bUnderQuota   = "Workloads under a hierarchical quota"
	bGenerated    = "Tenant guardrails"
	bOutside      = "Namespaces outside trees"
	bOrdinary     = "Everything else in in-tree namespaces"
	bUncovered    = "Workloads no hierarchical quota covers"
	bSingleton    = "Quota singletons"
	bDeletePolicy = "Deleting quotas, Tenants and the HNCConfiguration"
)

// Webhook names, as config/webhook/manifests.yaml has them.
const (
	whHC        = "hierarchyconfigurations.validate.canopy.dev"
	whAnchor    = "subnamespaceanchors.validate.canopy.dev"
	whNS        = "namespaces.validate.canopy.dev"
	whObjects   = "objects.hnc.x-k8s.io"
	whHRQ       = "hierarchicalresourcequotas.quota.canopy.dev"
	whHQ        = "hierarchicalquotas.quota.canopy.dev"
	whHNCConfig = "hncconfigurations.hnc.x-k8s.io"
	whStatus    = "singleton-status.quota.canopy.dev"
	whTenant    = "tenants.tenancy.canopy.dev"
	whTAnchors  = "tenant-anchors.tenancy.canopy.dev"
	whTGen      = "tenant-generated.tenancy.canopy.dev"
	whTHier     = "tenant-hierarchy.tenancy.canopy.dev"
	whTQuota    = "tenant-quota.tenancy.canopy.dev"
)

var dry = client.DryRunAll

// update reads obj, applies mutate and writes it back as a dry run.
func update[T client.Object](obj T, mutate func(T)) func(context.Context, logf, client.Client) error {
	return func(ctx context.Context, _ logf, c client.Client) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return fmt.Errorf("reading %T %s: %w", obj, client.ObjectKeyFromObject(obj), err)
		}
		mutate(obj)
		return c.Update(ctx, obj, dry)
	}
}

func createDry(obj client.Object) func(context.Context, logf, client.Client) error {
	return func(ctx context.Context, _ logf, c client.Client) error { return c.Create(ctx, obj, dry) }
}

func deleteDry(obj client.Object) func(context.Context, logf, client.Client) error {
	return func(ctx context.Context, _ logf, c client.Client) error { return c.Delete(ctx, obj, dry) }
}

func get(obj client.Object) func(context.Context, logf, client.Client) error {
	return func(ctx context.Context, _ logf, c client.Client) error {
		return c.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	}
}

func ns(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func hc(namespace string) *api.HierarchyConfiguration {
	return &api.HierarchyConfiguration{ObjectMeta: meta(namespace, api.Singleton)}
}

func rows() []row {
	hrq := func(ns, name string) *api.HierarchicalResourceQuota {
		return &api.HierarchicalResourceQuota{ObjectMeta: meta(ns, name),
			Spec: api.HierarchicalResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}}
	}
	return []row{
		{bHierarchy, "create a HierarchyConfiguration in a namespace outside trees", []string{whHC},
			createDry(&api.HierarchyConfiguration{ObjectMeta: meta(plain, api.Singleton), Spec: api.HierarchyConfigurationSpec{Parent: root}})},
		{bHierarchy, "update a subnamespace's HierarchyConfiguration", []string{whHC},
			update(hc(sub), func(h *api.HierarchyConfiguration) { h.Spec.AllowCascadingDeletion = true })},
		{bHierarchy, "delete a subnamespace's HierarchyConfiguration", []string{whHC}, deleteDry(hc(sub))},
		{bHierarchy, "update the HierarchyConfiguration of a namespace that left its tree", []string{whHC},
			update(hc(left), func(h *api.HierarchyConfiguration) { h.Spec.AllowCascadingDeletion = true })},
		{bHierarchy, "update a tenant namespace's HierarchyConfiguration", []string{whHC, whTHier},
			update(hc(tenantNS), func(h *api.HierarchyConfiguration) { h.Spec.AllowCascadingDeletion = true })},
		{bHierarchy, "create an anchor in a tree", []string{whAnchor, whTAnchors},
			createDry(&api.SubnamespaceAnchor{ObjectMeta: meta(root, "dg-new")})},
		{bHierarchy, "create an anchor in a namespace outside trees", []string{whAnchor, whTAnchors},
			createDry(&api.SubnamespaceAnchor{ObjectMeta: meta(plain, "dg-plain-sub")})},
		{bHierarchy, "label an anchor", []string{whAnchor},
			update(&api.SubnamespaceAnchor{ObjectMeta: meta(root, sub)}, func(a *api.SubnamespaceAnchor) { a.Labels = map[string]string{"dg": "x"} })},
		{bHierarchy, "delete an anchor", []string{whAnchor, whTAnchors},
			deleteDry(&api.SubnamespaceAnchor{ObjectMeta: meta(root, sub)})},
		{bHierarchy, "delete a Tenant's anchor", []string{whAnchor, whTAnchors},
			deleteDry(&api.SubnamespaceAnchor{ObjectMeta: meta(tenant, tenantNS)})},

		{bNamespaces, "label a subnamespace", []string{whNS},
			update(ns(sub), func(n *corev1.Namespace) { n.Labels["dg"] = "x" })},
		{bNamespaces, "remove a subnamespace's in-tree label", []string{whNS},
			update(ns(sub), func(n *corev1.Namespace) { delete(n.Labels, forest.LabelInTree) })},
		{bNamespaces, "remove a root's tree labels", []string{whNS},
			update(ns(root), func(n *corev1.Namespace) {
				delete(n.Labels, forest.LabelInTree)
				delete(n.Labels, root+api.LabelTreeDepthSuffix)
			})},
		{bNamespaces, "delete a subnamespace", []string{whNS}, deleteDry(ns(sub))},
		{bNamespaces, "delete a root", []string{whNS}, deleteDry(ns(root))},
		{bNamespaces, "delete a tenant's namespace", []string{whNS}, deleteDry(ns(tenantNS))},
		{bNamespaces, "label a tenant's root that has no subnamespace", []string{whNS},
			update(ns(solo), func(n *corev1.Namespace) { n.Labels["dg"] = "x" })},
		{bNamespaces, "remove the tenant label from a tenant's root that has no subnamespace", []string{whNS},
			update(ns(solo), func(n *corev1.Namespace) { delete(n.Labels, tenancyv1.LabelTenant) })},
		{bNamespaces, "delete a tenant's root that has no subnamespace", []string{whNS}, deleteDry(ns(solo))},
		{bNamespaces, "create a namespace labelled in-tree", []string{whNS},
			createDry(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "dg-forged", Labels: map[string]string{forest.LabelInTree: "true"}}})},

		{bPropagated, "create a Role in a subnamespace", []string{whObjects},
			createDry(&rbacv1.Role{ObjectMeta: meta(sub, "dg-own")})},
		{bPropagated, "edit a propagated Role copy", []string{whObjects},
			update(&rbacv1.Role{ObjectMeta: meta(sub, "dg-reader")}, func(r *rbacv1.Role) { r.Rules[0].Verbs = []string{"*"} })},
		{bPropagated, "delete a propagated RoleBinding copy", []string{whObjects},
			deleteDry(&rbacv1.RoleBinding{ObjectMeta: meta(sub, "dg-readers")})},
		{bPropagated, "edit a source Role", []string{whObjects},
			update(&rbacv1.Role{ObjectMeta: meta(root, "dg-reader")}, func(r *rbacv1.Role) { r.Rules[0].Verbs = []string{"get"} })},

		{bPolicy, "create an HRQ", []string{whHRQ}, createDry(hrq(free, "dg-new"))},
		{bPolicy, "update an HRQ", []string{whHRQ},
			update(&api.HierarchicalResourceQuota{ObjectMeta: meta(root, hrqName)}, func(h *api.HierarchicalResourceQuota) {
				h.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
			})},
		{bPolicy, "create a HierarchicalQuota", []string{whHQ},
			createDry(&tenancyv1.HierarchicalQuota{ObjectMeta: meta(free, "dg-new"),
				Spec: tenancyv1.HierarchicalQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}})},
		{bPolicy, "delete a tenant's HierarchicalQuota", []string{whTQuota},
			deleteDry(&tenancyv1.HierarchicalQuota{ObjectMeta: meta(tenant, tenantctrl.QuotaName)})},
		{bPolicy, "create a Tenant", []string{whTenant},
			createDry(&tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "dg-new"}})},
		{bPolicy, "update a Tenant", []string{whTenant},
			update(&tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}}, func(tn *tenancyv1.Tenant) { tn.Spec.CostCenter = "x" })},
		{bPolicy, "update the HNCConfiguration", []string{whHNCConfig},
			update(&api.HNCConfiguration{ObjectMeta: metav1.ObjectMeta{Name: api.HNCConfigSingleton}}, func(h *api.HNCConfiguration) {
				h.Spec.Resources = append(h.Spec.Resources, api.ResourceSpec{Resource: "secrets", Mode: api.Propagate})
			})},

		{bUnderQuota, "create a pod in a subnamespace under an HRQ", []string{whStatus},
			func(ctx context.Context, _ logf, c client.Client) error {
				return c.Create(ctx, pod(sub, "dg-pod-2"))
			}},

		{bGenerated, "edit a generated RoleBinding", []string{whTGen, whObjects},
			update(&rbacv1.RoleBinding{ObjectMeta: meta(tenantNS, tenantctrl.BindingName(0))}, func(rb *rbacv1.RoleBinding) {
				rb.Subjects = append(rb.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "intruders"})
			})},
		{bGenerated, "delete a generated NetworkPolicy", []string{whTGen},
			deleteDry(&networkingv1.NetworkPolicy{ObjectMeta: meta(tenantNS, tenantctrl.NetworkPolicyName)})},
		{bGenerated, "delete a generated LimitRange", []string{whTGen},
			deleteDry(&corev1.LimitRange{ObjectMeta: meta(tenantNS, tenantctrl.LimitRangeName)})},

		{bOutside, churnWhat, nil, churnNamespaces(100, 4)},
		{bOutside, "label a namespace outside trees", nil,
			func(ctx context.Context, _ logf, c client.Client) error {
				n := ns(plain)
				if err := c.Get(ctx, client.ObjectKeyFromObject(n), n); err != nil {
					return err
				}
				n.Labels["dg"] = "x"
				return c.Update(ctx, n)
			}},
		{bOutside, "delete a namespace that left its tree (its HierarchyConfiguration goes with it)", nil,
			deleteUntilGone(ns(left), 30*time.Second)},

		{bOrdinary, "create a ConfigMap in a subnamespace under an HRQ on pods", nil,
			func(ctx context.Context, _ logf, c client.Client) error {
				return c.Create(ctx, &corev1.ConfigMap{ObjectMeta: meta(sub, "dg-cm"), Data: map[string]string{"a": "b"}})
			}},
		{bOrdinary, "update that ConfigMap", nil,
			func(ctx context.Context, _ logf, c client.Client) error {
				cm := &corev1.ConfigMap{ObjectMeta: meta(sub, "dg-cm")}
				if err := c.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
					return err
				}
				cm.Data["a"] = "c"
				return c.Update(ctx, cm)
			}},
		{bOrdinary, "delete that ConfigMap", nil,
			func(ctx context.Context, _ logf, c client.Client) error {
				return c.Delete(ctx, &corev1.ConfigMap{ObjectMeta: meta(sub, "dg-cm")})
			}},
		{bOrdinary, "create a Secret in a tenant's namespace", nil,
			func(ctx context.Context, _ logf, c client.Client) error {
				return c.Create(ctx, &corev1.Secret{ObjectMeta: meta(tenantNS, "dg-secret"), StringData: map[string]string{"a": "b"}})
			}},
		{bOrdinary, "delete a pod under an HRQ", nil,
			func(ctx context.Context, _ logf, c client.Client) error {
				return c.Delete(ctx, pod(sub, podName))
			}},
		{bOrdinary, "read an HRQ", nil, get(&api.HierarchicalResourceQuota{ObjectMeta: meta(root, hrqName)})},
		{bOrdinary, "read a HierarchyConfiguration", nil, get(hc(sub))},
		{bOrdinary, "read an anchor", nil, get(&api.SubnamespaceAnchor{ObjectMeta: meta(root, sub)})},
		{bOrdinary, "read a Tenant", nil, get(&tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}})},
		{bOrdinary, "list Roles in a subnamespace", nil,
			func(ctx context.Context, _ logf, c client.Client) error {
				return c.List(ctx, &rbacv1.RoleList{}, client.InNamespace(sub))
			}},

		{bUncovered, "create a pod in a subnamespace no quota covers", nil,
			func(ctx context.Context, _ logf, c client.Client) error {
				return c.Create(ctx, pod(freeSub, "dg-free-pod"))
			}},

		{bSingleton, "raise a singleton ResourceQuota's limit", nil,
			update(&corev1.ResourceQuota{ObjectMeta: meta(sub, quota.UnscopedSingletonName)}, func(rq *corev1.ResourceQuota) {
				rq.Spec.Hard[corev1.ResourcePods] = resource.MustParse("1000")
			})},
		{bSingleton, "delete a singleton ResourceQuota", nil,
			deleteDry(&corev1.ResourceQuota{ObjectMeta: meta(sub, quota.UnscopedSingletonName)})},

		{bDeletePolicy, "delete an HRQ", nil, deleteDry(&api.HierarchicalResourceQuota{ObjectMeta: meta(root, hrqName)})},
		{bDeletePolicy, "delete a HierarchicalQuota outside tenants", nil,
			deleteDry(&tenancyv1.HierarchicalQuota{ObjectMeta: meta(free, hqName)})},
		{bDeletePolicy, "delete a Tenant", nil, deleteDry(&tenancyv1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: tenant}})},
		{bDeletePolicy, "delete the HNCConfiguration", nil,
			deleteDry(&api.HNCConfiguration{ObjectMeta: metav1.ObjectMeta{Name: api.HNCConfigSingleton}})},

		// Last, so that the namespace controller's backoff on this
		// namespace (up to a minute) is short when the manager returns.
		{bHierarchy, "delete a namespace outside trees holding an anchor in Conflict: accepted, then stuck", []string{whAnchor, whTAnchors},
			func(ctx context.Context, _ logf, c client.Client) error {
				if err := c.Delete(ctx, ns(conflicted)); err != nil {
					return fmt.Errorf("the delete itself was refused: %w", err)
				}
				return stuckDeleting(ctx, c, conflicted)
			}},
	}
}

// deleteUntilGone deletes namespace n and waits until it is gone. It first
// waits until no other namespace is being deleted: kube-controller-manager's
// namespace controller empties deleted namespaces in the order they were
// deleted, five at a time, so a deletion sent while the churn row's 100 are
// queued would measure theirs, not its own (in one run 75 were ahead of it
// and it went 21 s after its delete; in a full make test, over 30 s).
func deleteUntilGone(n *corev1.Namespace, timeout time.Duration) func(context.Context, logf, client.Client) error {
	return func(ctx context.Context, log logf, c client.Client) error {
		// The churn row may use all of its context (the same length as
		// this row's); wait for it as long as this row's context leaves
		// timeout for the deletion measured.
		before := wait
		if dl, ok := ctx.Deadline(); ok {
			before = time.Until(dl) - timeout
		}
		start := time.Now()
		if err := noOtherDeletion(ctx, c, n.Name, before); err != nil {
			return err
		}
		queued := time.Since(start)
		start = time.Now()
		if err := c.Delete(ctx, n); err != nil {
			return err
		}
		if err := pollGone(ctx, c, n, timeout); err != nil {
			return err
		}
		log("namespace %s gone %v after its delete (sent once no other namespace was being deleted, %v after the row started)",
			n.Name, time.Since(start).Round(time.Millisecond), queued.Round(time.Millisecond))
		return nil
	}
}

// churnNamespaces creates n namespaces outside every tree with workers
// goroutines, deletes them the same way, and waits until the namespace
// controller has removed them all.
func churnNamespaces(n, workers int) func(context.Context, logf, client.Client) error {
	return func(ctx context.Context, log logf, c client.Client) error {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("dg-out-%03d", i)
		}
		each := func(op func(context.Context, string) error) error {
			jobs := make(chan string)
			errs := make(chan error, n)
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for nm := range jobs {
						if err := op(ctx, nm); err != nil {
							errs <- fmt.Errorf("namespace %s: %w", nm, err)
						}
					}
				}()
			}
			for _, nm := range names {
				jobs <- nm
			}
			close(jobs)
			wg.Wait()
			close(errs)
			var failed []error
			for err := range errs {
				failed = append(failed, err)
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d of %d failed, first: %w", len(failed), n, failed[0])
			}
			return nil
		}
		start := time.Now()
		if err := each(func(ctx context.Context, nm string) error { return c.Create(ctx, ns(nm)) }); err != nil {
			return fmt.Errorf("creating: %w", err)
		}
		created := time.Since(start)
		start = time.Now()
		if err := each(func(ctx context.Context, nm string) error { return c.Delete(ctx, ns(nm)) }); err != nil {
			return fmt.Errorf("deleting: %w", err)
		}
		deleted := time.Since(start)
		for _, nm := range names {
			if err := pollGone(ctx, c, ns(nm), wait); err != nil {
				return err
			}
		}
		log("%d namespaces outside trees: created in %v, deletions accepted in %v, all gone %v later",
			n, created.Round(time.Millisecond), deleted.Round(time.Millisecond), (time.Since(start) - deleted).Round(time.Millisecond))
		return nil
	}
}
