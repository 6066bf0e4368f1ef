package ha

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	api "sigs.k8s.io/hierarchical-namespaces/api/v1alpha2"
)

const (
	roleName    = "ha-role"
	bindingName = "ha-binding"
	// away is the root a subtree is moved under while the leader is dead:
	// the copies the old leader wrote there must go.
	away = "ha-away"
)

// figures are one kill's measurements.
type figures struct {
	atKill      int           // copies (or namespaces) present when the kill was sent
	of          int           // how many there are in the end
	inFlight    int           // the old leader's writes that arrived after the kill (written before the lease changed hands)
	lease       time.Duration // kill to the lease's new holder (watch arrival)
	firstWrite  time.Duration // kill to the new leader's first write (watch arrival)
	converged   time.Duration // kill to the last write of the convergence (watch arrival)
	moved       string        // the subtree moved out during the takeover
	movedCopies int           // copies in it when it was moved
}

func (f figures) String() string {
	s := fmt.Sprintf("%d of %d at the kill, %d in flight; lease taken %.1fs after the kill, first write %.1fs, converged %.1fs (%.1fs after the lease changed hands)",
		f.atKill, f.of, f.inFlight, f.lease.Seconds(), f.firstWrite.Seconds(), f.converged.Seconds(), (f.converged - f.lease).Seconds())
	if f.moved != "" {
		s += fmt.Sprintf("; moved %s out with %d copies", f.moved, f.movedCopies)
	}
	return s
}

func sourceRole() *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}},
	}
}

func sourceBinding() *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: bindingName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: roleName},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "ha-readers"}},
	}
}

// killDuringPropagation builds a tree of n namespaces, creates a Role and
// a RoleBinding at its root and SIGKILLs leader once half of the
// 2*(n-1) copies exist. While no leader runs it moves the subtree with
// the most copies out of the tree and changes both sources, so each
// assertion after the takeover can fail: copies missing, copies stale,
// copies left outside the tree.
func killDuringPropagation(t *testing.T, cl *cluster, leader, standby string, n int) figures {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := cl.c
	tr := newTree("ha-root", n)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: away}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tr.build(t, c, 10*time.Minute)
	t.Logf("built a tree of %d namespaces in %v", n, time.Since(start).Round(time.Second))

	copies := newTracker()
	fromRoot := client.MatchingLabels{api.LabelInheritedFrom: tr.root}
	copies.watch(ctx, t, c, &rbacv1.RoleList{}, nil, fromRoot)
	copies.watch(ctx, t, c, &rbacv1.RoleBindingList{}, nil, fromRoot)
	leases := cl.watchLease(ctx, t)

	role, binding := sourceRole(), sourceBinding()
	role.Namespace, binding.Namespace = tr.root, tr.root
	for _, o := range []client.Object{role, binding} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	total := 2 * len(tr.parent)
	half := total / 2
	// The kill must hit the leader; checked now, off the path from the
	// trigger to the kill.
	if h, err := cl.holder(ctx); err != nil || h != leader {
		t.Fatalf("the lease is held by %q (%v), want %s", h, err, leader)
	}
	waitCtx, waitCancel := context.WithTimeout(ctx, 10*time.Minute)
	defer waitCancel()
	if err := copies.waitUntil(waitCtx, func(p map[key]bool) bool { return len(p) >= half }); err != nil {
		t.Fatalf("waiting for %d of %d copies: %v", half, total, err)
	}
	atKill := copies.snapshot()
	kill := time.Now()
	cl.kill(leader)
	if ev := leases(); len(ev) == 0 || ev[len(ev)-1].holder != leader {
		t.Fatalf("the lease changed hands before the kill: %+v", ev)
	}
	t.Logf("killed %s with %d of %d copies written", leader, len(atKill), total)
	if len(atKill) >= total {
		t.Fatalf("all %d copies existed at the kill: the kill came too late to test a takeover", total)
	}

	// While no leader runs: move the subtree with the most copies under
	// another root, and change both sources.
	moved, movedCopies := "", -1
	for _, child := range tr.children {
		in := map[string]bool{child: true}
		for _, d := range tr.descendants(child) {
			in[d] = true
		}
		k := 0
		for o := range atKill {
			if in[o.Namespace] {
				k++
			}
		}
		if k > movedCopies {
			moved, movedCopies = child, k
		}
	}
	if err := setParent(ctx, c, moved, away); err != nil {
		t.Fatalf("moving %s under %s: %v", moved, away, err)
	}
	if movedCopies == 0 {
		t.Fatalf("no copy in any subtree at the kill: moving one out tests nothing")
	}
	role.Rules[0].Verbs = []string{"get", "list", "watch"}
	binding.Subjects = append(binding.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "ha-auditor"})
	for _, o := range []client.Object{role, binding} {
		if err := retry(ctx, func(ctx context.Context) error { return c.Update(ctx, o) }); err != nil {
			t.Fatalf("updating the source %s: %v", o.GetName(), err)
		}
	}

	want := map[string]bool{}
	gone := map[string]bool{moved: true}
	for _, d := range tr.descendants(moved) {
		gone[d] = true
	}
	for d := range tr.parent {
		if !gone[d] {
			want[d] = true
		}
	}
	// No leader runs yet, so the check below must find all three faults
	// now: otherwise passing it after the takeover would prove nothing.
	before, err := listCopies(ctx, c, tr.root, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.missing) == 0 || len(before.stale) == 0 || len(before.stray) == 0 {
		t.Fatalf("before the takeover the copies should be missing, stale and outside the tree: %v", before.err())
	}
	if h, err := cl.holder(ctx); err != nil || h != leader {
		t.Fatalf("the lease is held by %q (%v) before the check ran, want the dead %s", h, err, leader)
	}
	t.Logf("before the takeover: %v", before.err())
	cl.waitHolder(t, standby, leaseDuration+time.Minute)
	le, err := takeoverAfter(leases(), standby, kill)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Minute, "copies converged after the takeover", func(ctx context.Context) error {
		r, err := listCopies(ctx, c, tr.root, want)
		if err != nil {
			return err
		}
		return r.err()
	})
	first, ok := copies.firstWriteAfter(le.rv)
	if !ok {
		t.Fatal("no copy written after the lease changed hands")
	}
	return figures{
		atKill: len(atKill), of: total, inFlight: copies.writesBetween(kill, le.rv),
		lease: le.at.Sub(kill), firstWrite: first.at.Sub(kill), converged: copies.last().at.Sub(kill),
		moved: fmt.Sprintf("%s (%d namespaces)", moved, len(gone)), movedCopies: movedCopies,
	}
}

// copyReport is what listCopies found wrong, each entry "Kind ns[/name]".
type copyReport struct{ missing, stale, stray []string }

func (r copyReport) err() error {
	if len(r.missing)+len(r.stale)+len(r.stray) == 0 {
		return nil
	}
	return fmt.Errorf("%d copies missing %s, %d differ from the source %s, %d outside the tree %s",
		len(r.missing), sample(r.missing), len(r.stale), sample(r.stale), len(r.stray), sample(r.stray))
}

// listCopies lists every copy of the root's Role and RoleBinding and
// reports which are missing in want, differ from their source, or lie
// outside want.
func listCopies(ctx context.Context, c client.Client, root string, want map[string]bool) (copyReport, error) {
	var r copyReport
	role, binding := &rbacv1.Role{}, &rbacv1.RoleBinding{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: root, Name: roleName}, role); err != nil {
		return r, err
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: root, Name: bindingName}, binding); err != nil {
		return r, err
	}
	fromRoot := client.MatchingLabels{api.LabelInheritedFrom: root}
	roles, bindings := &rbacv1.RoleList{}, &rbacv1.RoleBindingList{}
	if err := c.List(ctx, roles, fromRoot); err != nil {
		return r, err
	}
	if err := c.List(ctx, bindings, fromRoot); err != nil {
		return r, err
	}
	haveRole, haveBinding := map[string]bool{}, map[string]bool{}
	for _, x := range roles.Items {
		switch {
		case !want[x.Namespace]:
			r.stray = append(r.stray, "Role "+x.Namespace+"/"+x.Name)
		case x.Name != roleName:
			r.stray = append(r.stray, "Role "+x.Namespace+"/"+x.Name+" (not the source's name)")
		default:
			haveRole[x.Namespace] = true
			if !equality.Semantic.DeepEqual(x.Rules, role.Rules) {
				r.stale = append(r.stale, "Role "+x.Namespace+"/"+x.Name)
			}
		}
	}
	for _, x := range bindings.Items {
		switch {
		case !want[x.Namespace]:
			r.stray = append(r.stray, "RoleBinding "+x.Namespace+"/"+x.Name)
		case x.Name != bindingName:
			r.stray = append(r.stray, "RoleBinding "+x.Namespace+"/"+x.Name+" (not the source's name)")
		default:
			haveBinding[x.Namespace] = true
			if !equality.Semantic.DeepEqual(x.Subjects, binding.Subjects) || x.RoleRef != binding.RoleRef {
				r.stale = append(r.stale, "RoleBinding "+x.Namespace+"/"+x.Name)
			}
		}
	}
	for ns := range want {
		if !haveRole[ns] {
			r.missing = append(r.missing, "Role "+ns)
		}
		if !haveBinding[ns] {
			r.missing = append(r.missing, "RoleBinding "+ns)
		}
	}
	return r, nil
}

func sample(s []string) string {
	sort.Strings(s)
	if len(s) > 3 {
		s = append(s[:3:3], "...")
	}
	return "[" + strings.Join(s, ", ") + "]"
}
