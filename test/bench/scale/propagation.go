package scale

import (
	"context"
	"slices"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

// The source objects: a Role and a RoleBinding at the root. The update
// adds a verb to the Role and a subject to the RoleBinding.
const (
	roleName    = "bench-role"
	bindingName = "bench-binding"
)

func role(ns string, updated bool) *rbacv1.Role {
	verbs := []string{"get"}
	if updated {
		verbs = append(verbs, "list")
	}
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: roleName},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: verbs}}}
}

func binding(ns string, updated bool) *rbacv1.RoleBinding {
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bench"}}
	if updated {
		subjects = append(subjects, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bench-2"})
	}
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: bindingName},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: roleName}, Subjects: subjects}
}

// copyTracker follows the copies of the root's Role and RoleBinding
// through two watches: per namespace, whether each copy exists and
// whether it holds the update.
type copyTracker struct {
	mu       sync.Mutex
	roles    map[string]bool // namespace: updated
	bindings map[string]bool
	changed  chan struct{}
}

func trackCopies(ctx context.Context, cl *cluster, root string) (*copyTracker, error) {
	tr := &copyTracker{roles: map[string]bool{}, bindings: map[string]bool{}, changed: make(chan struct{}, 1)}
	sel := metav1.ListOptions{LabelSelector: api.LabelInheritedFrom + "=" + root}
	on := func(m map[string]bool, updated func(any) bool) func(watch.Event) {
		return func(ev watch.Event) {
			o, ok := ev.Object.(metav1.Object)
			if !ok {
				return
			}
			tr.mu.Lock()
			if ev.Type == watch.Deleted {
				delete(m, o.GetNamespace())
			} else {
				m[o.GetNamespace()] = updated(ev.Object)
			}
			tr.mu.Unlock()
			select {
			case tr.changed <- struct{}{}:
			default:
			}
		}
	}
	rbac := cl.cs.RbacV1()
	err := watchEvents(ctx, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.LabelSelector = sel.LabelSelector
		return rbac.Roles("").Watch(ctx, o)
	}, func(ctx context.Context) (string, error) {
		l, err := rbac.Roles("").List(ctx, sel)
		if err != nil {
			return "", err
		}
		return l.ResourceVersion, nil
	}, on(tr.roles, func(o any) bool {
		r, ok := o.(*rbacv1.Role)
		return ok && len(r.Rules) == 1 && slices.Contains(r.Rules[0].Verbs, "list")
	}))
	if err != nil {
		return nil, err
	}
	err = watchEvents(ctx, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.LabelSelector = sel.LabelSelector
		return rbac.RoleBindings("").Watch(ctx, o)
	}, func(ctx context.Context) (string, error) {
		l, err := rbac.RoleBindings("").List(ctx, sel)
		if err != nil {
			return "", err
		}
		return l.ResourceVersion, nil
	}, on(tr.bindings, func(o any) bool {
		b, ok := o.(*rbacv1.RoleBinding)
		return ok && len(b.Subjects) == 2
	}))
	return tr, err
}

// waitFor returns once cond holds for the counts of existing and updated
// copies (roles and bindings), or ctx ends.
func (tr *copyTracker) waitFor(ctx context.Context, start time.Time, cond func(roles, rolesUpdated, bindings, bindingsUpdated int) bool) (time.Duration, error) {
	for {
		tr.mu.Lock()
		r, ru, b, bu := count(tr.roles), countTrue(tr.roles), count(tr.bindings), countTrue(tr.bindings)
		tr.mu.Unlock()
		if cond(r, ru, b, bu) {
			return time.Since(start), nil
		}
		select {
		case <-tr.changed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func count(m map[string]bool) int { return len(m) }

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// propagation measures creating, updating and deleting the source at the
// root until every descendant holds, holds updated, and no longer holds
// its copies. Before the deletion it runs between (the restarts and the
// quota measurement), so they see a steady state holding copies.
type propagation struct {
	create, update, delete time.Duration
}

func propagateCreateUpdate(ctx context.Context, cl *cluster, t tree, tr *copyTracker, p *propagation) error {
	n := len(t.descendants())
	start := time.Now()
	if err := createAll(ctx, cl.c, role(t.root, false), binding(t.root, false)); err != nil {
		return err
	}
	var err error
	if p.create, err = tr.waitFor(ctx, start, func(r, _, b, _ int) bool { return r == n && b == n }); err != nil {
		return err
	}
	start = time.Now()
	if err := updateAll(ctx, cl.c, role(t.root, true), binding(t.root, true)); err != nil {
		return err
	}
	p.update, err = tr.waitFor(ctx, start, func(_, ru, _, bu int) bool { return ru == n && bu == n })
	return err
}

func propagateDelete(ctx context.Context, cl *cluster, t tree, tr *copyTracker, p *propagation) error {
	start := time.Now()
	if err := deleteAll(ctx, cl.c, role(t.root, true), binding(t.root, true)); err != nil {
		return err
	}
	var err error
	p.delete, err = tr.waitFor(ctx, start, func(r, _, b, _ int) bool { return r == 0 && b == 0 })
	return err
}

// floorPropagation writes the copies themselves: the same Role and
// RoleBinding created, updated and deleted in every descendant, by the
// benchmark's client, on a control plane where nothing watches them.
func floorPropagation(ctx context.Context, cl *cluster, t tree) (propagation, error) {
	var p propagation
	objs := map[string][2]client.Object{}
	var mu sync.Mutex
	start := time.Now()
	err := parallel(ctx, t.descendants(), func(ctx context.Context, ns string) error {
		r, b := role(ns, false), binding(ns, false)
		mu.Lock()
		objs[ns] = [2]client.Object{r, b}
		mu.Unlock()
		return createAll(ctx, cl.c, r, b)
	})
	if err != nil {
		return p, err
	}
	p.create = time.Since(start)
	start = time.Now()
	err = parallel(ctx, t.descendants(), func(ctx context.Context, ns string) error {
		mu.Lock()
		o := objs[ns]
		mu.Unlock()
		r, b := o[0].(*rbacv1.Role), o[1].(*rbacv1.RoleBinding)
		r.Rules = role(ns, true).Rules
		b.Subjects = binding(ns, true).Subjects
		return updateAll(ctx, cl.c, r, b)
	})
	if err != nil {
		return p, err
	}
	p.update = time.Since(start)
	start = time.Now()
	err = parallel(ctx, t.descendants(), func(ctx context.Context, ns string) error {
		return deleteAll(ctx, cl.c, role(ns, true), binding(ns, true))
	})
	p.delete = time.Since(start)
	return p, err
}

func createAll(ctx context.Context, c client.Client, objs ...client.Object) error {
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// updateAll updates each object; those without a resource version are
// read first.
func updateAll(ctx context.Context, c client.Client, objs ...client.Object) error {
	for _, o := range objs {
		if o.GetResourceVersion() == "" {
			cur := o.DeepCopyObject().(client.Object)
			if err := c.Get(ctx, client.ObjectKeyFromObject(o), cur); err != nil {
				return err
			}
			o.SetResourceVersion(cur.GetResourceVersion())
		}
		if err := c.Update(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

func deleteAll(ctx context.Context, c client.Client, objs ...client.Object) error {
	for _, o := range objs {
		if err := c.Delete(ctx, o); err != nil {
			return err
		}
	}
	return nil
}
